// A listing per thread in the shape of a Python traceback, for people and tools used to
// reading those (and for grep): `File "f", line N, in function` then the source line.
#include "render/snapshot_text.hpp"
#include "stackscope/formatters.hpp"

#include "render/context_text.hpp"
#include "render/locals_text.hpp"
#include "render/printable.hpp"
#include "render/style.hpp"

namespace stackscope {

std::string format_stack_flat(const Stack& stack, const FlatOptions& options) {
    const Painter p{options.color};
    std::string out = "Traceback" + stack_subject(stack.root) + " (most recent call last):\n";
    for (const Frame& f : stack.frames) {
        if (f.hidden && !options.show_hidden) continue;
        // As upstream's format_flat(show_contexts=True): an entry per context at its `with` line.
        for (const Context& c : f.contexts) {
            const std::optional<int> line = c.start_line ? c.start_line : f.line;
            const std::string comment = context_comment(c, false);
            out += "  File \"" + p.paint(Role::Location, printable(f.filename)) + "\", line " +
                   p.paint(Role::Location, line ? std::to_string(*line) : "?") + ", in " +
                   p.paint(Role::Function, printable(f.function)) +
                   (comment.empty() ? "" : " " + p.paint(Role::ContextComment, "(" + printable(comment) + ")")) + "\n";
            if (c.start_line && c.source) out += "    " + p.paint(Role::Source, printable(*c.source)) + "\n";
        }
        if (f.contexts_error)
            out += "  " + p.paint(Role::Error, "(with-blocks unreadable: " + printable(*f.contexts_error) + ")") + "\n";
        if (!ends_exiting(f)) {
            out += "  File \"" + p.paint(Role::Location, printable(f.filename)) + "\", line " +
                   p.paint(Role::Location, f.line ? std::to_string(*f.line) : "?") + ", in " +
                   p.paint(Role::Function, printable(f.function)) + "\n";
            if (f.source) out += "    " + p.paint(Role::Source, printable(*f.source)) + "\n";
        }
        // After the frame's last entry, as traceback puts a frame's captured locals.
        for (const std::string& line : local_lines(f, p)) out += "    " + line + "\n";
    }
    if (stack.leaf)
        out += "  Target of innermost frame: " + p.paint(Role::Leaf, printable(stack.leaf->description)) + "\n";
    if (stack.error) {
        out += "  " + p.paint(Role::Error, "Error while extracting stack: " + printable(stack.error->message)) + "\n";
    }
    return out;
}

std::string format_snapshot_flat(const Snapshot& snapshot, const FlatOptions& options) {
    return format_snapshot_text(
        snapshot, [&](const Stack& stack) { return format_stack_flat(stack, options); }, options.color);
}

}  // namespace stackscope
