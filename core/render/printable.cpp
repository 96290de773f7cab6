#include "render/printable.hpp"

#include "stackscope/hex.hpp"

#include <algorithm>
#include <cstdio>

namespace stackscope {

std::string printable(const std::string& text) {
    std::string out;
    append_printable(out, text);
    return out;
}

void append_printable(std::string& out, std::string_view text) {
    // Most text has nothing to escape: C0 controls, DEL, and C1 controls (UTF-8 0xc2 0x80-0x9f).
    const auto needs_care = [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f || c == 0xc2;
    };
    if (std::none_of(text.begin(), text.end(), needs_care)) {
        out += text;
        return;
    }
    out.reserve(out.size() + text.size());
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
}

std::string stack_subject(const StackRoot& root) {
    // An object asked for where no object could be read is named by its address.
    if (root.description.empty()) return root.kind == StackRootKind::Object ? " of " + hex(root.address) : "";
    std::string out = " of " + printable(root.description);
    if (root.thread_tid) out += ", running in thread " + std::to_string(*root.thread_tid);
    return out;
}

}  // namespace stackscope
