#pragma once
// What a native frame is: its function (from .symtab, else .dynsym), source file and line and
// the functions inlined at its pc (from DWARF, when the file or its debug file has some).
#include <elfutils/libdwfl.h>

#include <optional>
#include <string>
#include <vector>

#include "native/physical_frame.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// The frame and, before it, the functions inlined at its pc (innermost first): newest first,
// the frame itself last. Its stack range is left unknown. `with_dwarf` false: named from the
// symbol table alone (no file, line or inlined functions).
std::vector<NativeStackFrame> symbolize(Dwfl* dwfl, const PhysicalFrame& frame, bool with_dwarf = true);

// The file (as the target names it) whose mapping holds the frame's pc; empty when none does.
std::string frame_file(Dwfl* dwfl, const PhysicalFrame& frame);

// The (raw) name of the symbol whose extent covers the frame's pc; nullopt when none does
// (a stripped file's nearest exported symbol may be another function's).
std::optional<std::string> covering_symbol(Dwfl* dwfl, const PhysicalFrame& frame);

}  // namespace stackscope
