#pragma once
// The entry points of the fuzz targets: each runs one input kind through the core the way
// the tool would. libFuzzer calls them (fuzz_main.cpp) and so does the unit test that replays
// the seed corpora and every crash found (tests/unit/test_fuzz_inputs.cpp). They throw
// nothing but what the core must never throw: a stackscope::Error is an expected outcome,
// anything else (or a crash, a sanitizer report, a hang) is a bug.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

namespace stackscope_fuzz {

// A check of the core's own contract inside a fuzz target: libFuzzer reports the abort as a
// crash (the fuzz targets are test code, where aborting is how a bug is reported).
inline void require(bool condition) {
    if (!condition) std::abort();
}

enum class Outcome {
    Value,     // the input was read
    Error,     // the core rejected it with a stackscope::Error
    TooShort,  // not enough bytes for the input's fixed header
};

// An ELF file or core, written to a memfd and opened by path (ElfFile, CoreFile, take_snapshot).
Outcome elf_core(std::span<const uint8_t> data);
// i32 first line, i64 byte offset, then a 3.8/3.9 co_lnotab.
Outcome lnotab(std::span<const uint8_t> data);
// i32 first line, i64 byte offset, then a 3.10 co_linetable.
Outcome linetable310(std::span<const uint8_t> data);
// i32 first line, u32 code unit, then a 3.11+ co_linetable.
Outcome locations(std::span<const uint8_t> data);
// A 3.11+ co_exceptiontable.
Outcome exception_table(std::span<const uint8_t> data);
// One code object for the with-block analysis (with_analysis.hpp), under the opcode table
// and rules of Python 3.(8 + byte 0 % 8): a 16-byte header (u8 version, u8 flags (1: decode
// the exception table before 3.11 too), u16 bytecode bytes, u16 exception-table bytes, u16
// lines, u16 names, u16 locals, u16 cells, 2 spare), then the bytecode, the table, a u16 line
// per code unit (0xFFFF: none), and NUL-separated strings: the names, locals and cells, and
// the constants after them ("\x7f": unreadable). Every unit is asked about.
Outcome with_analysis(std::span<const uint8_t> data);
// A memory image (memory_image.hpp) that take_snapshot reads and the formatters render.
Outcome frame_walker(std::span<const uint8_t> data);
// A memory image (memory_image.hpp) read as --tasks reads it (SnapshotOptions::tasks) and
// rendered: the task registries, running loops and tasks, and awaiter links.
Outcome tasks(std::span<const uint8_t> data);
// A _Py_AsyncioModuleDebugOffsets block (.AsyncioDebug), as parse_asyncio_debug_offsets takes
// it; a block it accepts must describe fields inside their objects.
Outcome asyncio_debug(std::span<const uint8_t> data);
// u8 version (Python 3.(8 + byte % 8)'s layout), then a memory image whose objects each get
// ObjectRepr::repr and function_name, with the builtin types its symbols name.
Outcome object_repr(std::span<const uint8_t> data);
// A seed of object_repr's corpus, laid out for 3.(minor) (11+): one object of each kind the
// repr rebuilds, a cycle, a huge int, each str kind (tests/fuzz/make_fuzz_seeds writes them).
std::vector<uint8_t> object_repr_seed(int minor);

using Entry = Outcome (*)(std::span<const uint8_t>);

// The entry point of a target by its name (the names of the directories of tests/fuzz/corpus/),
// nullptr for an unknown name.
Entry entry_named(std::string_view target);

}  // namespace stackscope_fuzz
