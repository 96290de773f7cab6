#include "cpython/partial_types.hpp"

#include "stackscope/error.hpp"

namespace stackscope {

bool PartialTypes::is_partial(uint64_t object) {
    if (!partial_class_) {
        partial_class_ = 0;
        try {
            if (const auto found = objects_.module_global("functools", "partial")) partial_class_ = *found;
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
        }
    }
    if (*partial_class_ == 0) return false;
    const uint64_t type = objects_.type_of(object);
    auto known = by_type_.find(type);
    if (known == by_type_.end()) known = by_type_.emplace(type, objects_.is_subclass(type, *partial_class_)).first;
    return known->second;
}

}  // namespace stackscope
