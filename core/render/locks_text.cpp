#include "render/locks_text.hpp"

#include "render/printable.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/hex.hpp"

#include <unordered_map>

namespace stackscope {

namespace {

// What the text names by address, found once per read rather than once per line: each lock's
// type (for Conditions and deadlocks), each thread's name by its thread state.
struct Names {
    explicit Names(const Snapshot& snapshot) {
        lock_types.reserve(snapshot.locks.size());
        for (const LockState& s : snapshot.locks) lock_types.emplace(s.address, &s.type);
        for (const Thread& t : snapshot.threads) {
            if (t.name && t.thread_state) thread_names.emplace(t.thread_state, &*t.name);
        }
    }
    std::unordered_map<uint64_t, const std::string*> lock_types;
    std::unordered_map<uint64_t, const std::string*> thread_names;
};

// `thread 4321 "worker-1"`, or `task 0x...`.
std::string party(const Names& names, const LockSite& site) {
    if (site.task) return "task " + hex(*site.task) + " '" + printable(site.task_name) + "'";
    std::string out = "thread " + (site.tid ? std::to_string(*site.tid) : std::string("?"));
    const auto name = names.thread_names.find(site.thread_state);
    if (name != names.thread_names.end()) out += " \"" + printable(*name->second) + "\"";
    return out;
}

// ` (with a: at file:line)`: the source, when known, and where; "" when nothing is known.
std::string where(const LockSite& site) {
    if (site.filename.empty()) return "";
    std::string out = "at " + printable(site.filename) + (site.line ? ":" + std::to_string(*site.line) : "");
    if (site.source) out = printable(*site.source) + " " + out;
    return " (" + out + ")";
}

std::string lock_name(const Names& names, uint64_t address) {
    const auto type = names.lock_types.find(address);
    return (type == names.lock_types.end() ? std::string("lock") : printable(*type->second)) + " " + hex(address);
}

// `lock 0x... (locked)`, `RLock 0x... (locked, count 2)`, `Semaphore 0x... (value 0)`,
// `Condition 0x... (lock RLock 0x...)`.
std::string lock_summary(const Names& names, const LockState& s) {
    std::vector<std::string> facts;
    if (s.value) facts.push_back("value " + std::to_string(*s.value));
    else if (s.locked && s.type == "asyncio.Event") facts.push_back(*s.locked ? "not set" : "set");
    else if (s.locked) facts.push_back(*s.locked ? "locked" : "unlocked");
    if (s.count && *s.count > 0) facts.push_back("count " + std::to_string(*s.count));
    if (s.lock) facts.push_back((s.type == "Condition" ? "lock " : "condition ") + lock_name(names, s.lock));
    std::string out = printable(s.type) + " " + hex(s.address);
    for (size_t i = 0; i < facts.size(); ++i) out += (i ? ", " : " (") + facts[i];
    return facts.empty() ? out : out + ")";
}

}  // namespace

std::string locks_text(const Snapshot& snapshot, bool color) {
    if (!snapshot.locks_asked) return "";
    const Names names(snapshot);
    std::string out;
    for (const std::vector<DeadlockMember>& cycle : snapshot.deadlocks) {
        size_t tasks = 0;
        for (const DeadlockMember& m : cycle) tasks += m.waits_at.task ? 1 : 0;
        const char* members = tasks == 0 ? " threads" : tasks == cycle.size() ? " tasks" : " threads and tasks";
        out += "\n" + styled_header("Deadlock: " + std::to_string(cycle.size()) + members, color) + "\n";
        for (const DeadlockMember& m : cycle) {
            std::string line = "  " + party(names, m.waits_at) + " holds " + lock_name(names, m.holds);
            line += where(m.holds_at);
            line += " and waits for " + lock_name(names, m.waits_for) + where(m.waits_at);
            out += line + "\n";
        }
    }
    out += "\n" + styled_header(snapshot.locks.empty() ? "Locks: none held or waited for" : "Locks:", color) + "\n";
    for (const LockState& s : snapshot.locks) {
        std::string line = "  " + lock_summary(names, s);
        if (!s.holders.empty()) {
            line += " held by ";
            for (size_t i = 0; i < s.holders.size(); ++i)
                line += (i ? ", " : "") + party(names, s.holders[i]) + where(s.holders[i]);
        } else if (s.locked.value_or(false) && (s.type == "lock" || s.type == "RLock" || s.type == "asyncio.Lock")) {
            line += " held by an unknown owner";
        }
        if (!s.waiters.empty()) {
            const bool acquires = s.type == "lock" || s.type == "RLock" || s.type == "asyncio.Lock";
            line += acquires ? "; waiting for it: " : "; waiting on it: ";
            for (size_t i = 0; i < s.waiters.size(); ++i)
                line += (i ? ", " : "") + party(names, s.waiters[i]) + where(s.waiters[i]);
        }
        out += line + "\n";
    }
    for (const LockSite& w : snapshot.unidentified_waits)
        out += "  " + party(names, w) + " waits on an unidentified lock" + where(w) + "\n";
    return out;
}

}  // namespace stackscope
