#pragma once
// Colour for the text renderers: each element of the tree and flat listings has a role, and a
// Painter wraps it in that role's ANSI SGR codes when colour is wanted. Which colour a role
// gets is decided here only, so that every renderer (and every front-end) agrees.
#include <string>
#include <string_view>

namespace stackscope {

enum class Role {
    Function,        // a frame's function name
    Location,        // where a frame is: `file:line`, or a traceback's file and line number
    Source,          // a frame's source line
    ContextComment,  // the comment after an active `with`: `  # lock: lock (line 31)`
    Error,           // why a stack could not be read
    Header,          // a thread's header line
    Leaf,            // what the innermost frame awaits: `<Future pending>`
    LocalName,       // a variable's name in a `name = repr` line (--locals)
};

struct Painter {
    bool enabled = false;

    // `text` in the role's colour, ending with a reset; `text` itself when not enabled or
    // empty. Never spans lines: callers paint each line, so that a pager or a debugger that
    // cuts output at line ends is not left in colour.
    std::string paint(Role role, std::string_view text) const;
    // What paint() would give of printable(text), appended to `out`.
    void append_printable(std::string& out, Role role, std::string_view text) const;
    // Around text written in parts: the role's colour, then the reset (nothing when not enabled).
    void open(std::string& out, Role role) const;
    void close(std::string& out) const;
};

}  // namespace stackscope
