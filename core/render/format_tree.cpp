#include "render/snapshot_text.hpp"
#include "render/stack_tree.hpp"
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

// Writes the lines of a stack into one string as it walks the model. A line's prefix is the
// markers of every element it is inside: each element gives its first line one marker and its
// other lines another (upstream builds each element's lines, then prefixes them).
class TreeWriter {
public:
    TreeWriter(const TreeOptions& options, std::string& out)
        : g_(options.ascii ? kAscii : kUnicode), p_{options.color}, options_(options), out_(out) {}

    // Stack._format without its header line.
    void stack_lines(const Stack& stack, int depth) {
        for (const Frame& f : stack.frames) {
            if (f.hidden && !options_.show_hidden) continue;
            const Nesting frame = enter(g_.start_frame, g_.continue_frame);
            frame_lines(f, depth);
            leave(frame);
        }
        if (stack.leaf) painted_line(g_.start_leaf, Role::Leaf, stack.leaf->description);
        if (stack.error) {
            line("  " + p_.paint(Role::Error, "Error while extracting stack:"));
            line("    " + p_.paint(Role::Error, printable(stack.error->message)));
        }
    }

private:
    // What enter() changed, for leave() to undo.
    struct Nesting {
        size_t prefix = 0;
        size_t pending_base = 0;
        size_t pending_marks = 0;
        bool has_pending = false;
    };

    // The next lines are an element's: its first line gets `first` after the prefix the
    // enclosing element gives its next line, the others get `rest` after the enclosing prefix.
    Nesting enter(std::string_view first, std::string_view rest) {
        const Nesting saved{prefix_.size(), pending_base_, pending_marks_.size(), has_pending_};
        if (!has_pending_) {
            pending_base_ = prefix_.size();
            pending_marks_.clear();
            has_pending_ = true;
        }
        pending_marks_ += first;
        prefix_ += rest;
        return saved;
    }

    // As enter(), for a child of a context directly in a frame (upstream's Frame._format
    // marks such lines, the first of each child, with start_child_context): its first line
    // replaces the context's own `rest` marker, which starts at `context_base`.
    Nesting enter_child_of_frame_context(size_t context_base) {
        const Nesting saved{prefix_.size(), pending_base_, pending_marks_.size(), has_pending_};
        pending_base_ = context_base;
        pending_marks_.resize(0);
        pending_marks_ += g_.start_child_context;
        pending_marks_ += g_.start_child;
        has_pending_ = true;
        prefix_ += g_.continue_child;
        return saved;
    }

    void leave(const Nesting& saved) {
        prefix_.resize(saved.prefix);
        if (!has_pending_) return;  // the element wrote its first line
        // It wrote none: the enclosing element's next line is still its first.
        pending_base_ = saved.pending_base;
        pending_marks_.resize(saved.pending_marks);
        has_pending_ = saved.has_pending;
    }

    // A line is its prefix, then what the caller appends, then end_line().
    std::string& begin_line() {
        if (has_pending_) {
            out_.append(prefix_, 0, pending_base_);
            out_ += pending_marks_;
            has_pending_ = false;
        } else {
            out_ += prefix_;
        }
        return out_;
    }

    void end_line() {
        out_ += '\n';
        ++lines_;
    }

    void line(std::string_view text) {
        begin_line() += text;
        end_line();
    }

    // `marker`, then printable(text) in the role's colour.
    void painted_line(std::string_view marker, Role role, std::string_view text) {
        std::string& out = begin_line();
        out += marker;
        p_.append_printable(out, role, text);
        end_line();
    }

    // Frame._format.
    void frame_lines(const Frame& f, int depth) {
        std::string& header = begin_line();
        p_.append_printable(header, Role::Function, f.function);
        header += " in ";
        append_printable(header, f.module ? std::string_view(*f.module) : std::string_view("unknown module"));
        header += " at ";
        p_.open(header, Role::Location);
        append_printable(header, f.filename);
        header += ':';
        header += f.line ? std::to_string(*f.line) : "?";
        p_.close(header);
        end_line();
        for (const std::string& local : local_lines(f, p_)) line("  " + local);
        for (const Context& c : f.contexts) {
            const size_t context_base = prefix_.size();
            const Nesting context = enter(g_.start_context, g_.continue_context);
            context_lines(c, true, depth, context_base);
            leave(context);
        }
        if (f.contexts_error)
            line(g_.start_context +
                 p_.paint(Role::Error, "(with-blocks unreadable: " + printable(*f.contexts_error) + ")"));
        if (f.source && !ends_exiting(f)) painted_line(g_.start_code, Role::Source, *f.source);
    }

    // Context._format: its line, its inner stack's lines, then each child's. `frame_base` is
    // where the frame's prefix ends when the context is directly in a frame, else npos.
    // Returns whether its last line, without the prefixes of what encloses it, is blank.
    bool context_lines(const Context& c, bool with_line, int depth, size_t frame_base = std::string::npos) {
        std::string first = p_.paint(Role::Source, printable(context_statement(c)));
        const std::string comment = context_comment(c, with_line);
        if (!comment.empty()) first += p_.paint(Role::ContextComment, "  # " + printable(comment));
        line(first);
        bool last_blank = is_blank(first);
        if (c.error) {
            line(p_.paint(Role::Error, "(context unreadable: " + printable(*c.error) + ")"));
            last_blank = false;
        }
        if (depth >= kMaxContextNesting) return last_blank;
        if (c.inner_stack) {
            const uint64_t before = lines_;
            stack_lines(**c.inner_stack, depth + 1);
            if (lines_ != before) last_blank = false;  // every stack line starts with a marker
        }
        bool did_blank = false;  // the previous child's last line was blank
        for (const ContextChild& item : c.children) {
            const auto* child_context = std::get_if<Boxed<Context>>(&item);
            const Stack* child_stack = child_context ? nullptr : &*std::get<Boxed<Stack>>(item);
            // A child task's stack: its root's repr in place of the header, set off by blank lines.
            if (child_stack && !child_stack->frames.empty() && !did_blank) {
                line(g_.continue_child);
                last_blank = true;
            }
            const Nesting child = frame_base == std::string::npos ? enter(g_.start_child, g_.continue_child)
                                                                  : enter_child_of_frame_context(frame_base);
            const uint64_t before = lines_;
            bool child_blank = false;  // the child's last line, without this context's markers
            if (child_context) {
                child_blank = context_lines(**child_context, false, depth + 1);
            } else {
                const std::string description = child_stack->root.description.empty()
                                                    ? "<unidentified child>"
                                                    : printable(child_stack->root.description);
                line(description);
                child_blank = is_blank(description);
                const uint64_t after_description = lines_;
                stack_lines(*child_stack, depth + 1);
                if (lines_ != after_description) child_blank = false;
                if (!child_stack->frames.empty()) {
                    line("");
                    child_blank = true;
                }
            }
            leave(child);
            did_blank = child_blank;
            // Its first line carries start_child; the others continue_child, which is blank.
            last_blank = lines_ - before > 1 ? child_blank : false;
        }
        return last_blank;
    }

    static bool is_blank(std::string_view text) { return text.find_first_not_of(" \t") == std::string::npos; }

    const Glyphs& g_;
    const Painter p_;
    const TreeOptions& options_;
    std::string& out_;
    std::string prefix_;         // what the lines after an element's first start with
    size_t pending_base_ = 0;    // the next line is an element's first: prefix_'s first bytes,
    std::string pending_marks_;  // then the first-line markers of the elements it starts
    bool has_pending_ = false;
    uint64_t lines_ = 0;
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
    if (!thread.interpreter_id) out += " (no Python thread state)";
    else if (*thread.interpreter_id != 0) out += " (interpreter " + std::to_string(*thread.interpreter_id) + ")";
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

void append_stack_tree(std::string& out, const Stack& stack, const TreeOptions& options) {
    out += "stackscope.Stack";
    out += stack_subject(stack.root);
    out += " (most recent call last):\n";
    TreeWriter(options, out).stack_lines(stack, 0);
}

std::string format_stack_tree(const Stack& stack, const TreeOptions& options) {
    std::string out;
    append_stack_tree(out, stack, options);
    return out;
}

std::string format_snapshot_tree(const Snapshot& snapshot, const TreeOptions& options) {
    return format_snapshot_text(
        snapshot, [&](std::string& out, const Stack& stack) { append_stack_tree(out, stack, options); }, options.color);
}

TextPieces format_snapshot_tree_taking_task_stacks(Snapshot& snapshot, const TreeOptions& options) {
    return format_snapshot_text_pieces(
        snapshot, [&](std::string& out, const Stack& stack) { append_stack_tree(out, stack, options); }, options.color,
        TaskLayout::Nested, {}, &snapshot.tasks, options.helper, options.sink);
}

}  // namespace stackscope
