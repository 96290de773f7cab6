#include "formatters.hpp"

#include <cstdio>

#include "hex.hpp"

namespace stackscope {

namespace {

struct Glyphs {
    const char* start_frame;
    const char* continue_frame;
    const char* start_code;
};

constexpr Glyphs kUnicode{"╠ ", "║ ", "└ "};
constexpr Glyphs kAscii{"+ ", "| ", "` "};

// Strings from the target are shown, not obeyed: control characters (C0, DEL and C1,
// which terminals treat as escape sequences) are escaped so they cannot fake lines.
std::string printable(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    char buf[8];
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(text[++i]));
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

std::string format_thread_header(const Thread& thread) {
    std::string out = "Thread ";
    if (thread.tid) out += std::to_string(*thread.tid);
    else if (thread.pthread_id) out += hex(*thread.pthread_id);
    else out += "?";
    if (thread.name) out += " \"" + printable(*thread.name) + "\"";
    if (thread.holds_gil) out += " (holds the GIL)";
    return out + ":";
}

std::string format_stack_tree(const Stack& stack, const TreeOptions& options) {
    const Glyphs& g = options.ascii ? kAscii : kUnicode;
    std::string out = "stackscope.Stack (most recent call last):\n";
    for (const Frame& f : stack.frames) {
        if (f.hidden && !options.show_hidden) continue;
        out += g.start_frame;
        out += printable(f.function) + " in " + printable(f.module.value_or("unknown module")) + " at " +
               printable(f.filename) + ":" + (f.line ? std::to_string(*f.line) : "?") + "\n";
        if (f.source) {
            out += g.continue_frame;
            out += g.start_code;
            out += printable(*f.source) + "\n";
        }
    }
    if (stack.error) out += "  Error while extracting stack:\n    " + printable(*stack.error) + "\n";
    return out;
}

std::string format_snapshot_tree(const Snapshot& snapshot, const TreeOptions& options) {
    std::string out;
    for (size_t i = 0; i < snapshot.threads.size(); ++i) {
        if (i) out += "\n";
        out += format_thread_header(snapshot.threads[i]) + "\n";
        out += format_stack_tree(snapshot.threads[i].stack, options);
    }
    return out;
}

}  // namespace stackscope
