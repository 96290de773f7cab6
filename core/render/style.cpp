#include "render/style.hpp"

#include "render/printable.hpp"

#include "stackscope/formatters.hpp"

namespace stackscope {

namespace {

// pystack's choices where it has the element (function yellow, errors red, labels faint);
// the rest distinct from those and from each other. Only the 8 basic colours, which every
// colour terminal has and themes keep readable.
std::string_view sgr(Role role) {
    switch (role) {
        case Role::Function: return "33";       // yellow
        case Role::Location: return "32";       // green
        case Role::Source: return "34";         // blue
        case Role::ContextComment: return "2";  // faint, as a comment reads
        case Role::Error: return "31";          // red
        case Role::Header: return "1";          // bold
        case Role::Leaf: return "36";           // cyan
        case Role::LocalName: return "35";      // magenta
    }
    return "0";
}

}  // namespace

std::string Painter::paint(Role role, std::string_view text) const {
    if (!enabled || text.empty()) return std::string(text);
    std::string out = "\x1b[";
    out += sgr(role);
    out += 'm';
    out += text;
    out += "\x1b[0m";
    return out;
}

void Painter::open(std::string& out, Role role) const {
    if (!enabled) return;
    out += "\x1b[";
    out += sgr(role);
    out += 'm';
}

void Painter::close(std::string& out) const {
    if (enabled) out += "\x1b[0m";
}

void Painter::append_printable(std::string& out, Role role, std::string_view text) const {
    if (text.empty()) return;
    open(out, role);
    stackscope::append_printable(out, text);
    close(out);
}

std::string styled_header(std::string_view line, bool color) { return Painter{color}.paint(Role::Header, line); }

}  // namespace stackscope
