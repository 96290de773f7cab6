#include "render/snapshot_text.hpp"
#include "stackscope/formatters.hpp"

#include <cstdio>

#include "stackscope/hex.hpp"
#include "render/context_text.hpp"
#include "render/locals_text.hpp"
#include "render/printable.hpp"
#include "render/style.hpp"

namespace stackscope {

namespace {

struct Glyphs {
    const char* start_frame;
    const char* continue_frame;
    const char* start_context;
    const char* start_code;
    const char* leaf;
};

constexpr Glyphs kUnicode{"╠ ", "║ ", "├ ", "└ ", "╚ "};
constexpr Glyphs kAscii{"+ ", "| ", ". ", "` ", "+ "};

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
    const Glyphs& g = options.ascii ? kAscii : kUnicode;
    const Painter p{options.color};
    std::string out = "stackscope.Stack" + stack_subject(stack.root) + " (most recent call last):\n";
    for (const Frame& f : stack.frames) {
        if (f.hidden && !options.show_hidden) continue;
        out += g.start_frame;
        out += p.paint(Role::Function, printable(f.function)) + " in " +
               printable(f.module.value_or("unknown module")) + " at " +
               p.paint(Role::Location, printable(f.filename) + ":" + (f.line ? std::to_string(*f.line) : "?")) + "\n";
        for (const std::string& line : local_lines(f, p)) out += g.continue_frame + ("  " + line) + "\n";
        for (const Context& c : f.contexts) {
            out += g.continue_frame;
            out += g.start_context;
            out += p.paint(Role::Source, printable(context_statement(c)));
            const std::string comment = context_comment(c, true);
            if (!comment.empty()) out += p.paint(Role::ContextComment, "  # " + printable(comment));
            out += "\n";
        }
        if (f.contexts_error) {
            out += g.continue_frame;
            out += g.start_context;
            out += p.paint(Role::Error, "(with-blocks unreadable: " + printable(*f.contexts_error) + ")") + "\n";
        }
        if (f.source && !ends_exiting(f)) {
            out += g.continue_frame;
            out += g.start_code;
            out += p.paint(Role::Source, printable(*f.source)) + "\n";
        }
    }
    if (stack.leaf) out += g.leaf + p.paint(Role::Leaf, printable(stack.leaf->description)) + "\n";
    if (stack.error) {
        out += "  " + p.paint(Role::Error, "Error while extracting stack:") + "\n    " +
               p.paint(Role::Error, printable(stack.error->message)) + "\n";
    }
    return out;
}

std::string format_snapshot_tree(const Snapshot& snapshot, const TreeOptions& options) {
    return format_snapshot_text(
        snapshot, [&](const Stack& stack) { return format_stack_tree(stack, options); }, options.color);
}

}  // namespace stackscope
