#pragma once
// Finds the interpreter's _PyRuntime in a target and the layout of its version.
#include <cstdint>
#include <memory>
#include <string>

#include "target/elf_file.hpp"

#include "cpython/python_layout.hpp"
#include "target/remote_memory.hpp"

namespace stackscope {

struct PythonRuntime {
    uint64_t address = 0;  // &_PyRuntime
    PythonLayout layout;
    std::string found_in;  // where it was found, e.g. "/usr/lib/libpython3.12.so.1.0 (symbol _PyRuntime)"
    // The ELF file whose symbol or section gave the runtime, and its load bias: its other
    // symbols (the builtin types) are where it says; null when no file was read.
    std::shared_ptr<const ElfFile> file;
    uint64_t load_bias = 0;
};

// Whether a mapped file may hold the runtime: the interpreter executable or libpython
// (extension modules such as foo.cpython-312-x86_64-linux-gnu.so do not).
bool may_hold_runtime(const std::string& path);

// Throws Error(UnsupportedRuntime) when no valid, supported runtime is found.
PythonRuntime discover_runtime(RemoteMemory& memory);

}  // namespace stackscope
