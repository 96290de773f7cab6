#pragma once
// Where the builtin types the reader checks (code, str, bytes, tuple, dict, int) live,
// learned from objects whose type is certain by construction rather than from the types'
// names: a core whose binary is missing lacks the .rodata that holds static types' tp_name
// strings, and a name can be borrowed by any class.
#include <cstdint>

#include "frame_walker.hpp"
#include "object_reader.hpp"

namespace stackscope {

// Anchors: a Python frame's code reference is a code object, whose co_name is a str, its
// line table bytes and its names a tuple; the sys module's dict is a dict and sys.hexversion
// an int. The types found are checked structurally (static types whose metatype is `type`)
// and recorded in `objects`; types that cannot be learned keep being checked by name.
void learn_builtin_types(ObjectReader& objects, FrameWalker& walker, uint64_t runtime);

}  // namespace stackscope
