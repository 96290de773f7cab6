#pragma once
// How a frame's variables (--locals) read in the tree and flat formats: one `name = repr` per
// variable, as traceback's StackSummary(capture_locals=True) writes them (in the frame's own
// order: arguments first, where traceback sorts by name).
#include <string>
#include <vector>

#include "render/style.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// The frame's variable lines, without indentation, made printable and painted; a frame whose
// variables could not be read has one line saying why. None when its locals were not read.
std::vector<std::string> local_lines(const Frame& frame, const Painter& painter);

}  // namespace stackscope
