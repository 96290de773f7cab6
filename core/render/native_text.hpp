#pragma once
// A thread's native frames as --native and --native-all show them: which frames are listed,
// which stand only for the Python frames they run, and each frame's line.
#include <optional>
#include <string>
#include <vector>

#include "stackscope/formatters.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// A line for each of the thread's native frames (newest first): with `all`, every one shown;
// else the interpreter's own frames are replaced (NativeLine::replaced): only the Python
// frames its eval-loop calls run are shown, unless they cannot be placed.
std::vector<NativeLine> native_lines(const Thread& thread, bool all);

}  // namespace stackscope
