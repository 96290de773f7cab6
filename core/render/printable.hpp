#pragma once
#include <string>

namespace stackscope {

// Strings from the target are shown, not obeyed: control characters (C0, DEL and C1,
// which terminals treat as escape sequences) are escaped so they cannot fake lines.
std::string printable(const std::string& text);

}  // namespace stackscope
