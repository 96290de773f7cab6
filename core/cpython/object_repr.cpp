#include "cpython/object_repr.hpp"

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

// Placeholder until the bounded repr lands: object.__repr__ for everything.
std::string ObjectRepr::repr(uint64_t object) {
    try {
        const AsyncioRepr::ValueReprs values{[this](uint64_t o) { return repr(o); },
                                             [this](uint64_t o) { return repr(o); }};
        if (auto future = asyncio_.repr(object, values)) return *future;
        return objects_.default_repr(object);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        return "<unreadable " + hex(object) + ">";
    }
}

std::string ObjectRepr::function_name(uint64_t callable) { return repr(callable); }

}  // namespace stackscope
