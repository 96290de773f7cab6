#include "render/snapshot_text.hpp"

#include "stackscope/formatters.hpp"

namespace stackscope {

std::string format_snapshot_text(const Snapshot& snapshot, const std::function<std::string(const Stack&)>& stack_text,
                                 bool color) {
    std::string out = format_process_header(snapshot);
    if (snapshot.objects_asked) {
        for (size_t i = 0; i < snapshot.objects.size(); ++i) {
            if (i) out += "\n";
            out += stack_text(snapshot.objects[i].stack);
        }
        return out;
    }
    for (size_t i = 0; i < snapshot.threads.size(); ++i) {
        if (i) out += "\n";
        out += styled_header(format_thread_header(snapshot.threads[i]), color) + "\n";
        out += stack_text(snapshot.threads[i].stack);
    }
    return out;
}

}  // namespace stackscope
