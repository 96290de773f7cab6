#pragma once
// How a frame's contexts read in the tree and flat formats, as upstream stackscope writes them.
#include <string>

#include "stackscope/model.hpp"

namespace stackscope {

// Contexts nested in contexts (through inner stacks and children) that a format follows: deeper
// than any elaboration nests, a bound against a model built by hand.
inline constexpr int kMaxContextNesting = 256;

// The `with` statement's source line; without one, the description; else `with <???>:`.
std::string context_statement(const Context& context);
// `name: Type (line N)`: the target (or `_`) and the manager's type when the manager is known,
// only the target when it is not; `(line N)` when `with_line` and the line is known.
std::string context_comment(const Context& context, bool with_line);
// Whether the frame's innermost context is exiting: its own source line is then not shown
// (it is the `with` line, or an unhelpful last line of the block).
bool ends_exiting(const Frame& frame);

}  // namespace stackscope
