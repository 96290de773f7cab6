#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "stackscope/debugger.hpp"

namespace stackscope {

std::string compose_debugger_text(const Snapshot& snapshot, const std::vector<std::string>& blocks, bool flat,
                                  const TreeOptions& options) {
    std::string out;
    for (size_t i = 0; i < blocks.size(); ++i) out += (i ? "\n" : "") + blocks[i];
    out += flat ? format_debugger_tasks_flat(snapshot, FlatOptions{options.show_hidden, options.color})
                : format_debugger_tasks_tree(snapshot, options);
    return out + format_debugger_locks(snapshot, options.color);
}

std::vector<std::string> debugger_warnings(const Snapshot& snapshot, const std::optional<std::vector<size_t>>& shown) {
    const auto has_error = [](const auto& item) { return item.stack.error.has_value(); };
    if (snapshot.objects_asked) {
        if (std::any_of(snapshot.objects.begin(), snapshot.objects.end(), has_error))
            return {"some objects could not be read completely (see their errors)"};
        return {};
    }
    std::vector<std::string> out;
    if (snapshot.threads.empty()) out.emplace_back("the interpreter has no threads");
    bool partial = snapshot.tasks_error || std::any_of(snapshot.tasks.begin(), snapshot.tasks.end(), has_error);
    if (shown) {
        for (size_t index : *shown)
            partial = partial || (index < snapshot.threads.size() && has_error(snapshot.threads[index]));
    } else {
        partial = partial || std::any_of(snapshot.threads.begin(), snapshot.threads.end(), has_error);
    }
    if (partial)
        out.emplace_back(snapshot.tasks_asked ? "some threads or tasks could not be read completely (see their errors)"
                                              : "some threads could not be read completely (see their errors)");
    return out;
}

}  // namespace stackscope
