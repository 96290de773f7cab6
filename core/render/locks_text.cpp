#include "render/locks_text.hpp"

#include "render/printable.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// `thread 4321 "worker-1"`, or `task 0x...`.
std::string party(const Snapshot& snapshot, const LockSite& site) {
    if (site.task) return "task " + hex(*site.task) + " '" + printable(site.task_name) + "'";
    std::string out = "thread " + (site.tid ? std::to_string(*site.tid) : std::string("?"));
    for (const Thread& t : snapshot.threads) {
        if (t.thread_state == site.thread_state && t.name) out += " \"" + printable(*t.name) + "\"";
    }
    return out;
}

// ` (with a: at file:line)`: the source, when known, and where; "" when nothing is known.
std::string where(const LockSite& site) {
    if (site.filename.empty()) return "";
    std::string out = "at " + printable(site.filename) + (site.line ? ":" + std::to_string(*site.line) : "");
    if (site.source) out = printable(*site.source) + " " + out;
    return " (" + out + ")";
}

std::string lock_name(const Snapshot& snapshot, uint64_t address) {
    for (const LockState& s : snapshot.locks)
        if (s.address == address) return printable(s.type) + " " + hex(address);
    return "lock " + hex(address);
}

// `lock 0x... (locked)`, `RLock 0x... (locked, count 2)`, `Semaphore 0x... (value 0)`,
// `Condition 0x... (lock RLock 0x...)`.
std::string lock_summary(const Snapshot& snapshot, const LockState& s) {
    std::vector<std::string> facts;
    if (s.value) facts.push_back("value " + std::to_string(*s.value));
    else if (s.locked && s.type == "asyncio.Event") facts.push_back(*s.locked ? "not set" : "set");
    else if (s.locked) facts.push_back(*s.locked ? "locked" : "unlocked");
    if (s.count && *s.count > 0) facts.push_back("count " + std::to_string(*s.count));
    if (s.lock) facts.push_back((s.type == "Condition" ? "lock " : "condition ") + lock_name(snapshot, s.lock));
    std::string out = printable(s.type) + " " + hex(s.address);
    for (size_t i = 0; i < facts.size(); ++i) out += (i ? ", " : " (") + facts[i];
    return facts.empty() ? out : out + ")";
}

}  // namespace

std::string locks_text(const Snapshot& snapshot, bool color) {
    if (!snapshot.locks_asked) return "";
    std::string out;
    for (const std::vector<DeadlockMember>& cycle : snapshot.deadlocks) {
        size_t tasks = 0;
        for (const DeadlockMember& m : cycle) tasks += m.waits_at.task ? 1 : 0;
        const char* members = tasks == 0 ? " threads" : tasks == cycle.size() ? " tasks" : " threads and tasks";
        out += "\n" + styled_header("Deadlock: " + std::to_string(cycle.size()) + members, color) + "\n";
        for (const DeadlockMember& m : cycle) {
            std::string line = "  " + party(snapshot, m.waits_at) + " holds " + lock_name(snapshot, m.holds);
            line += where(m.holds_at);
            line += " and waits for " + lock_name(snapshot, m.waits_for) + where(m.waits_at);
            out += line + "\n";
        }
    }
    out += "\n" + styled_header(snapshot.locks.empty() ? "Locks: none held or waited for" : "Locks:", color) + "\n";
    for (const LockState& s : snapshot.locks) {
        std::string line = "  " + lock_summary(snapshot, s);
        if (!s.holders.empty()) {
            line += " held by ";
            for (size_t i = 0; i < s.holders.size(); ++i)
                line += (i ? ", " : "") + party(snapshot, s.holders[i]) + where(s.holders[i]);
        } else if (s.locked.value_or(false) && (s.type == "lock" || s.type == "RLock" || s.type == "asyncio.Lock")) {
            line += " held by an unknown owner";
        }
        if (!s.waiters.empty()) {
            const bool acquires = s.type == "lock" || s.type == "RLock" || s.type == "asyncio.Lock";
            line += acquires ? "; waiting for it: " : "; waiting on it: ";
            for (size_t i = 0; i < s.waiters.size(); ++i)
                line += (i ? ", " : "") + party(snapshot, s.waiters[i]) + where(s.waiters[i]);
        }
        out += line + "\n";
    }
    for (const LockSite& w : snapshot.unidentified_waits)
        out += "  " + party(snapshot, w) + " waits on an unidentified lock" + where(w) + "\n";
    return out;
}

std::string context_lock_note(const Snapshot& snapshot, const Context& context) {
    if (!snapshot.locks_asked || !context.address) return "";
    for (const LockState& s : snapshot.locks) {
        if (s.address != context.address) continue;
        if (!s.holders.empty()) return "held by " + party(snapshot, s.holders.front());
        if (s.locked) return *s.locked ? "locked" : "unlocked";
        return "";
    }
    return "";
}

}  // namespace stackscope
