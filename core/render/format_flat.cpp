// A listing per thread in the shape of a Python traceback, for people and tools used to
// reading those (and for grep): `File "f", line N, in function` then the source line.
#include "stackscope/formatters.hpp"

#include "render/printable.hpp"

namespace stackscope {

std::string format_stack_flat(const Stack& stack, bool show_hidden) {
    std::string out = "Traceback (most recent call last):\n";
    for (const Frame& f : stack.frames) {
        if (f.hidden && !show_hidden) continue;
        out += "  File \"" + printable(f.filename) + "\", line " + (f.line ? std::to_string(*f.line) : "?") + ", in " +
               printable(f.function) + "\n";
        if (f.source) out += "    " + printable(*f.source) + "\n";
    }
    if (stack.error) out += "  Error while extracting stack: " + printable(stack.error->message) + "\n";
    return out;
}

std::string format_snapshot_flat(const Snapshot& snapshot, bool show_hidden) {
    std::string out = format_process_header(snapshot);
    for (size_t i = 0; i < snapshot.threads.size(); ++i) {
        if (i) out += "\n";
        out += format_thread_header(snapshot.threads[i]) + "\n";
        out += format_stack_flat(snapshot.threads[i].stack, show_hidden);
    }
    return out;
}

}  // namespace stackscope
