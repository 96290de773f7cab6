#pragma once
// Where the builtin types the reader checks live (builtin_types.hpp): from the symbols of the
// runtime's ELF file (or the debugger's) when there is one, else learned from objects whose
// type is certain by construction rather than from the types' names: a core whose binary is
// missing lacks the .rodata that holds static types' tp_name strings, and a name can be
// borrowed by any class.
#include <cstdint>

#include "cpython/builtin_types.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/runtime_discovery.hpp"
#include "cpython/thread_stack.hpp"

namespace stackscope {

// Symbols first. Then anchors for what they did not give: a Python frame's code reference
// is a code object, whose co_name is a str, its line table bytes and its names a tuple; the
// sys module's dict is a dict, sys.hexversion an int and sys.modules['sys'] a module. The
// types found are checked structurally (static types whose metatype is `type`). A type
// neither gives stays unknown (TypeMatch::Unknown).
void learn_builtin_types(ObjectReader& objects, BuiltinTypes& types, ThreadStackWalker& walker,
                         const PythonRuntime& runtime);

}  // namespace stackscope
