// A listing per thread in the shape of a Python traceback, for people and tools used to
// reading those (and for grep): `File "f", line N, in function` then the source line.
#include "render/snapshot_text.hpp"
#include "stackscope/formatters.hpp"

#include "render/context_text.hpp"
#include "render/printable.hpp"

namespace stackscope {

std::string format_stack_flat(const Stack& stack, bool show_hidden) {
    std::string out = "Traceback" + stack_subject(stack.root) + " (most recent call last):\n";
    for (const Frame& f : stack.frames) {
        if (f.hidden && !show_hidden) continue;
        // As upstream's format_flat(show_contexts=True): an entry per context at its `with` line.
        for (const Context& c : f.contexts) {
            const std::optional<int> line = c.start_line ? c.start_line : f.line;
            const std::string comment = context_comment(c, false);
            out += "  File \"" + printable(f.filename) + "\", line " + (line ? std::to_string(*line) : "?") + ", in " +
                   printable(f.function) + (comment.empty() ? "" : " (" + printable(comment) + ")") + "\n";
            if (c.start_line && c.source) out += "    " + printable(*c.source) + "\n";
        }
        if (f.contexts_error) out += "  (with-blocks unreadable: " + printable(*f.contexts_error) + ")\n";
        if (ends_exiting(f)) continue;
        out += "  File \"" + printable(f.filename) + "\", line " + (f.line ? std::to_string(*f.line) : "?") + ", in " +
               printable(f.function) + "\n";
        if (f.source) out += "    " + printable(*f.source) + "\n";
    }
    if (stack.leaf) out += "  Target of innermost frame: " + printable(stack.leaf->description) + "\n";
    if (stack.error) out += "  Error while extracting stack: " + printable(stack.error->message) + "\n";
    return out;
}

std::string format_snapshot_flat(const Snapshot& snapshot, bool show_hidden) {
    return format_snapshot_text(snapshot, [&](const Stack& stack) { return format_stack_flat(stack, show_hidden); });
}

}  // namespace stackscope
