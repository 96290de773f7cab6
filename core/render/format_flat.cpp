// A listing per thread in the shape of a Python traceback, for people and tools used to
// reading those (and for grep): `File "f", line N, in function` then the source line.
#include "render/snapshot_text.hpp"
#include "stackscope/formatters.hpp"

#include <optional>
#include <string>
#include <variant>

#include "render/context_text.hpp"
#include "render/locals_text.hpp"
#include "render/printable.hpp"
#include "render/style.hpp"

namespace stackscope {

namespace {

// Upstream's Stack.format_flat(show_contexts=True): the traceback entries of
// Stack._frame_summaries, Frame.as_stdlib_summary_with_contexts and Context._frame_summaries.
class FlatWriter {
public:
    explicit FlatWriter(const FlatOptions& options) : p_{options.color}, options_(options) {}

    void stack(const Stack& stack, int depth) {
        for (const Frame& f : stack.frames) {
            if (f.hidden && !options_.show_hidden) continue;
            for (const Context& c : f.contexts) context(c, f, nullptr, depth);
            if (f.contexts_error)
                out += "  " + p_.paint(Role::Error, "(with-blocks unreadable: " + printable(*f.contexts_error) + ")") +
                       "\n";
            if (!ends_exiting(f)) {
                entry(f.filename, f.line, f.function, "");
                if (f.source) out += "    " + p_.paint(Role::Source, printable(*f.source)) + "\n";
            }
            // After the frame's last entry, as traceback puts a frame's captured locals.
            for (const std::string& line : local_lines(f, p_)) out += "    " + line + "\n";
        }
    }

    std::string out;

private:
    // A context's entry at its `with` line (a child's: at its parent's, with `# description` as
    // its line), then its inner stack's entries, then its child contexts'.
    void context(const Context& c, const Frame& parent, const std::string* line, int depth) {
        entry(parent.filename, c.start_line ? c.start_line : parent.line, parent.function, context_comment(c, false));
        if (line) out += "    " + p_.paint(Role::Source, printable(*line)) + "\n";
        else if (c.start_line && c.source) out += "    " + p_.paint(Role::Source, printable(*c.source)) + "\n";
        if (c.error) out += "  " + p_.paint(Role::Error, "(context unreadable: " + printable(*c.error) + ")") + "\n";
        if (depth >= kMaxContextNesting) return;
        if (c.inner_stack) stack(**c.inner_stack, depth + 1);
        for (const ContextChild& item : c.children) {
            if (const auto* child = std::get_if<Boxed<Context>>(&item)) {
                const std::string child_line = "# " + context_statement(**child);
                context(**child, parent, &child_line, depth + 1);
            }
        }
    }

    void entry(const std::string& filename, std::optional<int> line, const std::string& function,
               const std::string& comment) {
        out += "  File \"" + p_.paint(Role::Location, printable(filename)) + "\", line " +
               p_.paint(Role::Location, line ? std::to_string(*line) : "?") + ", in " +
               p_.paint(Role::Function, printable(function)) +
               (comment.empty() ? "" : " " + p_.paint(Role::ContextComment, "(" + printable(comment) + ")")) + "\n";
    }

    const Painter p_;
    const FlatOptions& options_;
};

}  // namespace

std::string format_stack_flat(const Stack& stack, const FlatOptions& options) {
    const Painter p{options.color};
    FlatWriter writer(options);
    writer.out = "Traceback" + stack_subject(stack.root) + " (most recent call last):\n";
    writer.stack(stack, 0);
    std::string out = std::move(writer.out);
    if (stack.leaf)
        out += "  Target of innermost frame: " + p.paint(Role::Leaf, printable(stack.leaf->description)) + "\n";
    if (stack.error) {
        out += "  " + p.paint(Role::Error, "Error while extracting stack: " + printable(stack.error->message)) + "\n";
    }
    return out;
}

std::string format_snapshot_flat(const Snapshot& snapshot, const FlatOptions& options) {
    return format_snapshot_text(
        snapshot, [&](std::string& out, const Stack& stack) { out += format_stack_flat(stack, options); },
        options.color, TaskLayout::Listed);
}

}  // namespace stackscope
