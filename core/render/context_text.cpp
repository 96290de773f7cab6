#include "render/context_text.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

std::string context_statement(const Context& context) {
    if (context.source && !context.source->empty()) return *context.source;
    if (!context.description.empty()) return context.description;
    return context.is_async ? "async with <?\?\?>:" : "with <?\?\?>:";
}

std::string context_comment(const Context& context, bool with_line) {
    std::string out;
    if (!context.type_name.empty()) out = context.varname.value_or("_") + ": " + context.type_name;
    else if (context.varname) out = *context.varname;
    if (with_line && context.start_line)
        out += (out.empty() ? "" : " ") + ("(line " + std::to_string(*context.start_line) + ")");
    if (context.lock_state) out += (out.empty() ? "[" : " [") + *context.lock_state + "]";
    return out;
}

Snapshot without_contexts(Snapshot snapshot) {
    auto strip = [](Stack& stack) {
        for (Frame& f : stack.frames) {
            f.contexts.clear();
            f.contexts_error.reset();
        }
    };
    for (Thread& t : snapshot.threads) strip(t.stack);
    for (ObjectStack& o : snapshot.objects) strip(o.stack);
    for (Task& t : snapshot.tasks) strip(t.stack);
    return snapshot;
}

bool ends_exiting(const Frame& frame) { return !frame.contexts.empty() && frame.contexts.back().is_exiting; }

}  // namespace stackscope
