#pragma once
// Which build of CPython a runtime is (release, Py_DEBUG, Py_TRACE_REFS), from what the
// interpreter says about itself: functions its sys module has only in such builds.
#include "cpython/object_reader.hpp"
#include "cpython/runtime_discovery.hpp"

namespace stackscope {

enum class BuildFlavour {
    Release,
    Debug,      // Py_DEBUG: sys.gettotalrefcount
    TraceRefs,  // Py_TRACE_REFS: sys.getobjects; every object has two more pointers in its header
};

// Release when the sys module cannot be read (nothing says otherwise).
BuildFlavour read_build_flavour(ObjectReader& objects, const PythonRuntime& runtime);

// Throws Error(UnsupportedRuntime) for a flavour the version's tables were not measured on.
void require_known_flavour(BuildFlavour flavour, const PythonLayout& layout);

}  // namespace stackscope
