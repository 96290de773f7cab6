#include <string>

#include "render/locks_text.hpp"
#include "stackscope/debugger.hpp"

namespace stackscope {

std::string format_debugger_locks(const Snapshot& snapshot, bool color) { return locks_text(snapshot, color); }

namespace {

void drop_lock_states(Stack& stack);

void drop_lock_state(Context& c, int depth) {
    c.lock_state.reset();
    if (depth > 64) return;
    for (ContextChild& child : c.children) {
        if (auto* inner = std::get_if<Boxed<Context>>(&child)) drop_lock_state(**inner, depth + 1);
    }
}

void drop_lock_states(Stack& stack) {
    for (Frame& f : stack.frames)
        for (Context& c : f.contexts) drop_lock_state(c, 0);
}

}  // namespace

Snapshot without_locks(Snapshot snapshot) {
    snapshot.locks_asked = false;
    snapshot.locks.clear();
    snapshot.deadlocks.clear();
    snapshot.unidentified_waits.clear();
    for (Thread& t : snapshot.threads) drop_lock_states(t.stack);
    for (Task& t : snapshot.tasks) drop_lock_states(t.stack);
    return snapshot;
}

}  // namespace stackscope
