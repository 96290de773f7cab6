#include "cpython/thread_names.hpp"

#include "stackscope/error.hpp"

namespace stackscope {

namespace {
// threading._active's entries read, at most: as many threads as a snapshot reads.
constexpr size_t kMaxThreadNames = 10000;
}  // namespace

std::unordered_map<uint64_t, std::string> read_thread_names(ObjectReader& objects, uint64_t interp) {
    std::unordered_map<uint64_t, std::string> names;
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    try {
        const uint64_t modules = mem.read_pointer(interp + l.interp_modules);
        if (!modules) return names;
        const auto threading = objects.dict_get(modules, "threading");
        if (!threading) return names;
        const uint64_t globals = mem.read_pointer(*threading + l.module_dict);
        try {
            const auto active = objects.dict_get(globals, "_active");
            for (const auto& entry :
                 active ? objects.dict_items(*active, kMaxThreadNames) : std::vector<ObjectReader::DictEntry>{}) {
                try {
                    const auto ident = static_cast<uint64_t>(objects.read_int(entry.key));
                    if (auto name = objects.attribute(entry.value, "_name"))
                        names[ident] = objects.read_str(*name, 1024);
                } catch (const Error&) {
                    // one unreadable entry does not hide the others
                }
            }
        } catch (const Error&) {
            // an unreadable registry still leaves the main thread's name below
        }
        // threading._main_thread names the main thread even where _active cannot be read.
        if (const auto main = objects.dict_get(globals, "_main_thread")) {
            const auto ident = objects.attribute(*main, "_ident");
            const auto name = objects.attribute(*main, "_name");
            if (ident && name)
                names.try_emplace(static_cast<uint64_t>(objects.read_int(*ident)), objects.read_str(*name, 1024));
        }
    } catch (const Error&) {
        // names are a nicety: a broken registry leaves them unknown
    }
    return names;
}

}  // namespace stackscope
