#include "render/snapshot_text.hpp"
#include "stackscope/formatters.hpp"

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "stackscope/hex.hpp"
#include "render/context_text.hpp"
#include "render/locals_text.hpp"
#include "render/printable.hpp"
#include "render/style.hpp"

namespace stackscope {

namespace {

// Upstream's markers (Stack._format, Frame._format, Context._format) and their ASCII forms.
struct Glyphs {
    const char* start_frame;
    const char* continue_frame;
    const char* start_leaf;
    const char* start_context;
    const char* continue_context;
    const char* start_child_context;  // before a child's line, which starts with start_child
    const char* start_code;
    const char* start_child;
    const char* continue_child;
};

constexpr Glyphs kUnicode{"╠ ", "║ ", "╚ ", "├ ", "│ ", "├─", "└ ", "─ ", "  "};
constexpr Glyphs kAscii{"+ ", "| ", "+ ", ". ", "  ", "  ", "` ", ". ", "  "};

// Deeper than any elaboration nests: the model is a tree, bounded where it is made.

// One line of a context's text; `child` when it starts with start_child (upstream tells these
// by their text; a flag survives colour).
struct Line {
    std::string text;
    bool child = false;
};

class TreeWriter {
public:
    explicit TreeWriter(const TreeOptions& options)
        : g_(options.ascii ? kAscii : kUnicode), p_{options.color}, options_(options) {}

    // Stack._format without its header line.
    std::vector<std::string> stack_lines(const Stack& stack, int depth) {
        std::vector<std::string> lines;
        for (const Frame& f : stack.frames) {
            if (f.hidden && !options_.show_hidden) continue;
            const std::vector<std::string> frame = frame_lines(f, depth);
            for (size_t i = 0; i < frame.size(); ++i)
                lines.push_back((i == 0 ? g_.start_frame : g_.continue_frame) + frame[i]);
        }
        if (stack.leaf) lines.push_back(g_.start_leaf + p_.paint(Role::Leaf, printable(stack.leaf->description)));
        if (stack.error) {
            lines.push_back("  " + p_.paint(Role::Error, "Error while extracting stack:"));
            lines.push_back("    " + p_.paint(Role::Error, printable(stack.error->message)));
        }
        return lines;
    }

private:
    // Frame._format.
    std::vector<std::string> frame_lines(const Frame& f, int depth) {
        std::vector<std::string> lines{
            p_.paint(Role::Function, printable(f.function)) + " in " + printable(f.module.value_or("unknown module")) +
            " at " + p_.paint(Role::Location, printable(f.filename) + ":" + (f.line ? std::to_string(*f.line) : "?"))};
        for (const std::string& line : local_lines(f, p_)) lines.push_back("  " + line);
        for (const Context& c : f.contexts) {
            const std::vector<Line> context = context_lines(c, true, depth);
            for (size_t i = 0; i < context.size(); ++i) {
                const char* marker = i == 0             ? g_.start_context
                                     : context[i].child ? g_.start_child_context
                                                        : g_.continue_context;
                lines.push_back(marker + context[i].text);
            }
        }
        if (f.contexts_error)
            lines.push_back(g_.start_context +
                            p_.paint(Role::Error, "(with-blocks unreadable: " + printable(*f.contexts_error) + ")"));
        if (f.source && !ends_exiting(f)) lines.push_back(g_.start_code + p_.paint(Role::Source, printable(*f.source)));
        return lines;
    }

    // Context._format: its line, its inner stack's lines, then each child's.
    std::vector<Line> context_lines(const Context& c, bool with_line, int depth) {
        std::string first = p_.paint(Role::Source, printable(context_statement(c)));
        const std::string comment = context_comment(c, with_line);
        if (!comment.empty()) first += p_.paint(Role::ContextComment, "  # " + printable(comment));
        std::vector<Line> lines{{first}};
        if (c.error) lines.push_back({p_.paint(Role::Error, "(context unreadable: " + printable(*c.error) + ")")});
        if (depth >= kMaxContextNesting) return lines;
        if (c.inner_stack)
            for (std::string& line : stack_lines(**c.inner_stack, depth + 1)) lines.push_back({std::move(line)});
        bool did_blank = false;
        for (const ContextChild& item : c.children) {
            std::vector<Line> sublines;
            if (const auto* child = std::get_if<Boxed<Context>>(&item)) {
                sublines = context_lines(**child, false, depth + 1);
            } else {
                const Stack& stack = *std::get<Boxed<Stack>>(item);
                // A child task's stack: its root's repr in place of the header, set off by blank lines.
                sublines.push_back(
                    {stack.root.description.empty() ? "<unidentified child>" : printable(stack.root.description)});
                for (std::string& line : stack_lines(stack, depth + 1)) sublines.push_back({std::move(line)});
                if (!stack.frames.empty()) {
                    if (!did_blank) lines.push_back({g_.continue_child});
                    sublines.push_back({""});
                }
            }
            did_blank = !sublines.empty() && is_blank(sublines.back().text);
            for (size_t i = 0; i < sublines.size(); ++i)
                lines.push_back({(i == 0 ? g_.start_child : g_.continue_child) + sublines[i].text, i == 0});
        }
        return lines;
    }

    static bool is_blank(const std::string& text) { return text.find_first_not_of(" \t") == std::string::npos; }

    const Glyphs& g_;
    const Painter p_;
    const TreeOptions& options_;
};

}  // namespace

std::string format_thread_header(const Thread& thread) {
    std::string out = "Thread ";
    if (thread.tid) out += std::to_string(*thread.tid);
    else if (thread.pthread_id) out += hex(*thread.pthread_id);
    else out += "?";
    return out + format_thread_details(thread) + ":";
}

std::string format_thread_details(const Thread& thread) {
    std::string out;
    if (thread.name) out += " \"" + printable(*thread.name) + "\"";
    if (thread.interpreter_id != 0) out += " (interpreter " + std::to_string(thread.interpreter_id) + ")";
    if (thread.holds_gil) out += " (holds the GIL)";
    if (thread.crash) out += " (crashed: " + format_signal(*thread.crash) + ")";
    switch (thread.activity) {
        case ThreadActivity::Unknown: break;
        case ThreadActivity::Running: out += " (running)"; break;
        case ThreadActivity::Idle:
            out += " (idle in " + printable(thread.syscall.value_or("a system call")) + ")";
            break;
        case ThreadActivity::WaitingForGil: out += " (waiting for the GIL)"; break;
    }
    if (thread.in_gc) out += " (in garbage collection)";
    if (thread.finalizing) out += " (finalizing the interpreter)";
    if (thread.handling) {
        out += " (handling " + printable(thread.handling->type);
        if (thread.handling->message && !thread.handling->message->empty())
            out += ": " + printable(*thread.handling->message);
        out += ")";
    }
    return out;
}

std::string format_stack_tree(const Stack& stack, const TreeOptions& options) {
    std::string out = "stackscope.Stack" + stack_subject(stack.root) + " (most recent call last):\n";
    for (const std::string& line : TreeWriter(options).stack_lines(stack, 0)) out += line + "\n";
    return out;
}

std::string format_snapshot_tree(const Snapshot& snapshot, const TreeOptions& options) {
    return format_snapshot_text(
        snapshot, [&](const Stack& stack) { return format_stack_tree(stack, options); }, options.color);
}

}  // namespace stackscope
