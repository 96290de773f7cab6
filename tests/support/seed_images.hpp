#pragma once
// The memory images of the frame-walker seed corpus: small, complete CPython runtimes laid
// out with tests/support/synthetic_memory.hpp, each with two threads (one holding the GIL),
// named threads (threading._active), methods, shim or entry frames, and real line tables.
// tests/fuzz/make_fuzz_seeds writes them to tests/fuzz/corpus/frame_walker/.
#include <string>
#include <vector>

#include "memory_image.hpp"

namespace stackscope_fuzz {

// 3.10: PyFrameObject chains, f_lasti, PEP 626 line table, the self/cls class guess,
// split-era dicts, tid from pthread_t; found by the _PyRuntime symbol.
MemoryImage seed_image_310();
// 3.12: _PyInterpreterFrame behind cframe, shim frames, managed dicts; found by symbol.
// With sys_functions, the interpreter has a sys module dict holding builtin functions of
// those names (what tells a build's flavour: gettotalrefcount, getobjects); without, none.
MemoryImage seed_image_312(const std::vector<std::string>& sys_functions = {});
// 3.13: _Py_DebugOffsets (the bytes of `debug_offsets_file`, a dump of a real runtime's),
// found by scanning the libpython mapping for its cookie; sys_functions as for 3.12.
MemoryImage seed_image_313(const std::string& debug_offsets_file, const std::vector<std::string>& sys_functions = {});

}  // namespace stackscope_fuzz
