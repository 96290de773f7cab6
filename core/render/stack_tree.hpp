#pragma once
// A stack's tree text, appended where it goes (format_stack_tree makes a string of it).
#include <string>

#include "stackscope/formatters.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

void append_stack_tree(std::string& out, const Stack& stack, const TreeOptions& options);

}  // namespace stackscope
