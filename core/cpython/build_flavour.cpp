#include "cpython/build_flavour.hpp"

#include "stackscope/error.hpp"

namespace stackscope {

BuildFlavour read_build_flavour(ObjectReader& objects, const PythonRuntime& runtime) {
    const PythonLayout& l = runtime.layout;
    RemoteMemory& mem = objects.memory();
    try {
        const uint64_t interp = mem.read_pointer(runtime.address + l.runtime_interpreters_head);
        const uint64_t sysdict = interp ? mem.read_pointer(interp + l.interp_sysdict) : 0;
        if (!sysdict) return BuildFlavour::Release;
        if (objects.dict_get(sysdict, "getobjects")) return BuildFlavour::TraceRefs;
        if (objects.dict_get(sysdict, "gettotalrefcount")) return BuildFlavour::Debug;
    } catch (const Error&) {
        // an unreadable sys module says nothing
    }
    return BuildFlavour::Release;
}

void require_known_flavour(BuildFlavour flavour, const PythonLayout& layout) {
    const bool known =
        flavour == BuildFlavour::Release || (flavour == BuildFlavour::Debug && layout.debug_build_measured);
    if (known) return;
    const std::string what = flavour == BuildFlavour::Debug ? "debug build (Py_DEBUG)" : "Py_TRACE_REFS build";
    throw Error(ErrorKind::UnsupportedRuntime,
                "Python " + layout.version.str() + " " + what + " is not supported (its layout was not measured)");
}

}  // namespace stackscope
