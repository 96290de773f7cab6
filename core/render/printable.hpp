#pragma once
#include <string>
#include <string_view>

#include "stackscope/model.hpp"

namespace stackscope {

// Strings from the target are shown, not obeyed: control characters (C0, DEL and C1,
// which terminals treat as escape sequences) are escaped so they cannot fake lines.
std::string printable(const std::string& text);
// printable(text) appended to `out`.
void append_printable(std::string& out, std::string_view text);

// What a stack header says the stack is of: ` of <coroutine object f at 0x...>` and, when it
// runs on a thread, `, running in thread 4321`; "" for a thread's own stack.
std::string stack_subject(const StackRoot& root);

}  // namespace stackscope
