#include "extract/lock_graph.hpp"

#include <algorithm>
#include <unordered_set>

#include "cpython/frame_slots.hpp"
#include "cpython/lock_objects.hpp"
#include "stackscope/error.hpp"
#include "target/syscall_names.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxLocks = 10000;
constexpr int kMaxInnerLocks = 2;  // a Semaphore's Condition's lock

bool in_threading(const Frame& f) { return f.module && *f.module == "threading"; }
bool in_asyncio_locks(const Frame& f) { return f.module && *f.module == "asyncio.locks"; }

// What a party is known by in the wait-for graph: its thread state, or its task.
uint64_t key(const LockSite& site) { return site.task ? *site.task : site.thread_state; }

LockSite task_site(const Task& task, const Frame* frame) {
    LockSite site;
    site.task = task.id;
    site.task_name = task.name;
    if (frame) {
        site.filename = frame->filename;
        site.line = frame->line;
    }
    return site;
}

LockSite thread_site(const Thread& t, const Frame* frame, std::optional<int> line) {
    LockSite site;
    site.tid = t.tid;
    site.thread_state = t.thread_state;
    if (frame) {
        site.filename = frame->filename;
        site.line = line;
    }
    return site;
}

// Where a thread waits: its innermost frame outside threading.py (the caller's line), else its
// innermost frame.
const Frame* waiting_frame(const Thread& t) {
    const std::vector<Frame>& frames = t.stack.frames;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it)
        if (!in_threading(*it)) return &*it;
    return frames.empty() ? nullptr : &frames.back();
}

class LockGraph {
public:
    LockGraph(Extraction& x, Snapshot& snap, const std::unordered_map<int, TargetThread>& kernel)
        : snap_(snap), kernel_(kernel), locks_(x.objects()), slots_(x.objects(), x.frames()) {}

    void run() {
        for (const Thread& t : snap_.threads) {
            if (t.thread_state && !t.stack.error) python_level_wait(t);
        }
        for (const Task& task : snap_.tasks) task_wait(task);
        for (const Thread& t : snap_.threads) {
            const LockSite party = thread_site(t, nullptr, std::nullopt);
            for (const Frame& f : t.stack.frames)
                for (const Context& c : f.contexts) context_holds(party, t.pthread_id, f, c, 0);
        }
        for (const Task& task : snap_.tasks) {
            const LockSite party = task_site(task, nullptr);
            for (const Frame& f : task.stack.frames)
                for (const Context& c : f.contexts) context_holds(party, std::nullopt, f, c, 0);
        }
        for (const Thread& t : snap_.threads) {
            if (t.thread_state && !notified_.count(t.thread_state)) futex_wait(t);
        }
        owner_holds();
        find_deadlocks();
        for (Thread& t : snap_.threads) note_states(t.stack);
        for (Task& task : snap_.tasks) note_states(task.stack);
        // A lock seen only as another's part (an idle Condition's lock) says nothing.
        for (LockState& s : states_)
            if (!s.holders.empty() || !s.waiters.empty()) snap_.locks.push_back(std::move(s));
    }

private:
    // The lock's entry, made (with its inner locks') when first seen; nullptr past the bound.
    LockState* state_of(const LockObject& lock, int depth = 0) {
        if (auto it = index_.find(lock.address); it != index_.end()) return &states_[it->second];
        if (states_.size() >= kMaxLocks) return nullptr;
        LockState s;
        s.address = lock.address;
        s.type = lock.type;
        s.locked = lock.locked;
        s.count = lock.count;
        s.value = lock.value;
        s.lock = lock.inner;
        index_.emplace(lock.address, states_.size());
        states_.push_back(std::move(s));
        objects_.emplace(lock.address, &lock);
        if (lock.inner && depth < kMaxInnerLocks) {
            if (const LockObject* inner = locks_.read(lock.inner)) state_of(*inner, depth + 1);
        }
        return &states_[index_.at(lock.address)];
    }

    enum class Role { Holder, Waiter };

    // Its first site (a thread's or task's outermost hold: an RLock held twice is one holder).
    void add_site(LockState& s, Role role, LockSite site) {
        const SiteKey party{s.address, role, site.thread_state, site.task.value_or(0), site.task.has_value()};
        if (!sites_.insert(party).second) return;
        (role == Role::Holder ? s.holders : s.waiters).push_back(std::move(site));
    }

    // A thread in Condition.wait (and the Semaphore.acquire, Event.wait ... that called it)
    // waits to be notified, not for a lock: the Condition or Semaphore of the outermost of
    // threading's frames above that wait whose `self` is one.
    void python_level_wait(const Thread& t) {
        const std::vector<Frame>& frames = t.stack.frames;
        if (frames.empty() || !in_threading(frames.back()) || frames.back().name != "wait") return;
        const LockObject* waited = nullptr;
        for (auto it = frames.rbegin(); it != frames.rend() && in_threading(*it); ++it) {
            const LockObject* object = locks_.read(slots_.first_argument(it->address));
            if (object && (object->kind == LockKind::Condition || object->kind == LockKind::Semaphore)) waited = object;
        }
        if (!waited) return;
        LockState* s = state_of(*waited);
        if (!s) return;
        const Frame* at = waiting_frame(t);
        add_site(*s, Role::Waiter, thread_site(t, at, at ? at->line : std::nullopt));
        notified_.emplace(t.thread_state, waited->address);
    }

    // A `with` of a lock holds it while the lock says it is held (by this thread, for an RLock):
    // a thread in Condition.wait has released its Condition's lock inside the `with`. Threads
    // hold threading's locks, tasks asyncio's (a running task's frames are on its thread too).
    void context_holds(const LockSite& party, std::optional<uint64_t> ident, const Frame& f, const Context& c,
                       int depth) {
        for (const ContextChild& child : c.children) {
            if (const auto* inner = std::get_if<Boxed<Context>>(&child); inner && depth < 8)
                context_holds(party, ident, f, **inner, depth + 1);
        }
        if (!c.address || c.is_exiting) return;
        const LockObject* lock = locks_.read(c.address);
        if (!lock || is_asyncio(lock->kind) != party.task.has_value()) return;
        if (auto it = notified_.find(key(party)); it != notified_.end()) {
            const LockObject* waited = locks_.read(it->second);
            if (waited && (waited->address == lock->address || waited->inner == lock->address)) return;
        }
        LockSite site = party;
        site.filename = f.filename;
        site.line = c.start_line;
        hold(site, ident, *lock, 0);
    }

    void hold(const LockSite& site, std::optional<uint64_t> ident, const LockObject& lock, int depth) {
        bool held = true;
        switch (lock.kind) {
            case LockKind::Lock:
            case LockKind::AsyncioLock: held = lock.locked.value_or(false); break;
            case LockKind::RLock: held = lock.owner != 0 && ident && lock.owner == *ident; break;
            case LockKind::AsyncioEvent: held = false; break;
            case LockKind::Condition:
            case LockKind::Semaphore:
            case LockKind::AsyncioSemaphore:
            case LockKind::AsyncioCondition: break;
        }
        LockState* s = state_of(lock);
        if (!s) return;
        if (held) add_site(*s, Role::Holder, site);
        // A Condition's `with` holds its lock (a Semaphore's Condition is its own business).
        if ((lock.kind == LockKind::Condition || lock.kind == LockKind::AsyncioCondition) && lock.inner &&
            depth < kMaxInnerLocks) {
            if (const LockObject* inner = locks_.read(lock.inner)) hold(site, ident, *inner, depth + 1);
        }
    }

    // A task waits on the asyncio lock of asyncio.locks' frames it is in (the outermost of the
    // innermost run: Semaphore.acquire over ... ) when what it awaits is one of that lock's
    // `_waiters`: to acquire a Lock, for a Semaphore, for an Event to be set, a Condition to
    // be notified (holding nothing meanwhile).
    void task_wait(const Task& task) {
        if (!task.stack.leaf) return;
        const uint64_t future = task.stack.leaf->address;
        const std::vector<Frame>& frames = task.stack.frames;
        const LockObject* waited = nullptr;
        for (auto it = frames.rbegin(); it != frames.rend() && in_asyncio_locks(*it); ++it) {
            const LockObject* object = locks_.read(slots_.first_argument(it->address));
            if (object && is_asyncio(object->kind) && object->has_waiting_future(future)) waited = object;
        }
        if (!waited) return;
        LockState* s = state_of(*waited);
        if (!s) return;
        const Frame* at = nullptr;
        for (auto it = frames.rbegin(); it != frames.rend() && !at; ++it)
            if (!in_asyncio_locks(*it)) at = &*it;
        const LockSite site = task_site(task, at);
        add_site(*s, Role::Waiter, site);
        if (waited->kind == LockKind::AsyncioLock) waits_.emplace(key(site), waited->address);
        else notified_.emplace(key(site), waited->address);
    }

    // A thread blocked in a futex wait (not the GIL's) waits for the lock whose semaphore (or
    // PyMutex, through its parking-lot wait entry) that futex is: among the locks known so far
    // and the objects its innermost frames refer to (the `with` being entered keeps its
    // manager's __exit__ on the value stack; an acquire() call, its bound method or `self`).
    void futex_wait(const Thread& t) {
        if (!t.tid || t.activity == ThreadActivity::WaitingForGil) return;
        const auto k = kernel_.find(*t.tid);
        if (k == kernel_.end() || !k->second.syscall) return;
        if (*k->second.syscall != kSyscallFutex && *k->second.syscall != kSyscallRestart) return;
        const uint64_t futex = k->second.syscall_arg0;
        const Frame* at = waiting_frame(t);
        const LockObject* found = nullptr;
        auto try_object = [&](uint64_t object) {
            const LockObject* owner_of_inner = nullptr;  // a _PyRLock stands for its _block
            for (int depth = 0; object && depth <= kMaxInnerLocks && !found; ++depth) {
                const LockObject* lock = locks_.read(object);
                if (!lock) return;
                if (locks_.futex_waits_for(futex, *lock)) found = owner_of_inner ? owner_of_inner : lock;
                owner_of_inner = lock->kind == LockKind::RLock && lock->inner ? lock : nullptr;
                object = lock->inner;
            }
        };
        for (const LockState& s : states_) {
            if (found) break;
            try_object(s.address);
        }
        const std::vector<Frame>& frames = t.stack.frames;
        for (auto it = frames.rbegin(); it != frames.rend() && !found; ++it) {
            try {
                for (const uint64_t object : slots_.objects(it->address)) {
                    try_object(object);
                    if (found) break;
                }
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::Internal) throw;
            }
            if (!in_threading(*it)) break;  // the caller of threading's frames is the last looked at
        }
        if (!t.stack.frames.empty() && !found && *k->second.syscall == kSyscallFutex) {
            snap_.unidentified_waits.push_back(thread_site(t, at, at ? at->line : std::nullopt));
            return;
        }
        if (!found) return;
        LockState* s = state_of(*found);
        if (!s) return;
        add_site(*s, Role::Waiter, thread_site(t, at, at ? at->line : std::nullopt));
        waits_.emplace(t.thread_state, found->address);
    }

    // Each context whose manager is a lock says its state, as the object records it.
    void note_states(Stack& stack) {
        for (Frame& f : stack.frames)
            for (Context& c : f.contexts) note_state(c, 0);
    }

    void note_state(Context& c, int depth) {
        for (ContextChild& child : c.children) {
            if (auto* inner = std::get_if<Boxed<Context>>(&child); inner && depth < 8) note_state(**inner, depth + 1);
        }
        if (!c.address) return;
        if (const LockObject* lock = locks_.read(c.address)) c.lock_state = state_text(*lock, 0);
    }

    std::string state_text(const LockObject& lock, int depth) {
        std::string text = bare_state_text(lock, depth);
        if (lock.waiters_unread) text += " (its waiters unreadable)";
        return text;
    }

    std::string bare_state_text(const LockObject& lock, int depth) {
        switch (lock.kind) {
            case LockKind::Lock:
            case LockKind::AsyncioLock:
                if (lock.locked) return *lock.locked ? "locked" : "unlocked";
                return "state unknown";
            case LockKind::RLock: {
                if (!lock.locked.value_or(false)) return "unlocked";
                std::string owner = "thread ident " + std::to_string(lock.owner);
                for (const Thread& t : snap_.threads) {
                    if (!t.pthread_id || *t.pthread_id != lock.owner) continue;
                    owner = "thread " + (t.tid ? std::to_string(*t.tid) : std::string("?"));
                    if (t.name) owner += " \"" + *t.name + "\"";
                }
                return "held by " + owner + (lock.count ? ", count " + std::to_string(*lock.count) : "");
            }
            case LockKind::Semaphore:
            case LockKind::AsyncioSemaphore:
                return lock.value ? "value " + std::to_string(*lock.value) : "value unknown";
            case LockKind::AsyncioEvent:
                if (lock.locked) return *lock.locked ? "not set" : "set";
                return "state unknown";
            case LockKind::Condition:
            case LockKind::AsyncioCondition: {
                const LockObject* inner = depth < kMaxInnerLocks ? locks_.read(lock.inner) : nullptr;
                return inner ? "its " + inner->type + " " + state_text(*inner, depth + 1) : "its lock unknown";
            }
        }
        return "";
    }

    // An RLock names its owner itself: held there even without a `with` (its line unknown then).
    void owner_holds() {
        std::unordered_map<uint64_t, const Thread*> by_ident;
        for (const Thread& t : snap_.threads)
            if (t.pthread_id) by_ident.emplace(*t.pthread_id, &t);
        for (LockState& s : states_) {
            const LockObject& lock = *objects_.at(s.address);
            if (lock.kind != LockKind::RLock || !lock.owner) continue;
            const auto owner = by_ident.find(lock.owner);
            if (owner == by_ident.end()) continue;
            add_site(s, Role::Holder, thread_site(*owner->second, nullptr, std::nullopt));
        }
    }

    // Each blocked thread waits for the one holder of a lock (a Lock or RLock: one holder at a
    // time); a cycle of those is a deadlock. Each thread waits for one lock, so each cycle is
    // found once, by following the edges from every thread.
    void find_deadlocks() {
        struct Edge {
            uint64_t lock = 0;
            uint64_t holder = 0;  // thread state
        };
        std::unordered_map<uint64_t, Edge> edges;
        for (const auto& [waiter, address] : waits_) {
            const LockState& s = states_[index_.at(address)];
            const LockObject& lock = *objects_.at(address);
            if (lock.kind != LockKind::Lock && lock.kind != LockKind::RLock && lock.kind != LockKind::AsyncioLock)
                continue;
            if (s.holders.size() != 1) continue;
            edges.emplace(waiter, Edge{address, key(s.holders[0])});
        }
        std::unordered_set<uint64_t> done;
        std::vector<uint64_t> starts;
        for (const Thread& t : snap_.threads)
            if (edges.count(t.thread_state)) starts.push_back(t.thread_state);
        for (const Task& t : snap_.tasks)
            if (edges.count(t.id)) starts.push_back(t.id);
        for (const uint64_t start : starts) {
            std::vector<uint64_t> path;
            std::unordered_map<uint64_t, size_t> on_path;
            uint64_t at = start;
            while (!done.count(at) && !on_path.count(at) && edges.count(at)) {
                on_path.emplace(at, path.size());
                path.push_back(at);
                at = edges.at(at).holder;
            }
            if (on_path.count(at)) {
                std::vector<uint64_t> cycle(path.begin() + static_cast<std::ptrdiff_t>(on_path.at(at)), path.end());
                snap_.deadlocks.push_back(members(cycle, edges));
            }
            for (const uint64_t p : path) done.insert(p);
        }
    }

    template <typename Edges>
    std::vector<DeadlockMember> members(std::vector<uint64_t> cycle, const Edges& edges) {
        // Listed from the thread read first (the snapshot's order), each waiting for what the next holds.
        if (ranks_.empty()) {
            for (size_t i = snap_.tasks.size(); i-- > 0;) ranks_[snap_.tasks[i].id] = snap_.threads.size() + i;
            for (size_t i = snap_.threads.size(); i-- > 0;) ranks_[snap_.threads[i].thread_state] = i;
        }
        const auto rank = [&](uint64_t party) {
            const auto it = ranks_.find(party);
            return it == ranks_.end() ? snap_.threads.size() + snap_.tasks.size() : it->second;
        };
        const auto first =
            std::min_element(cycle.begin(), cycle.end(), [&](uint64_t a, uint64_t b) { return rank(a) < rank(b); });
        std::rotate(cycle.begin(), first, cycle.end());
        std::vector<DeadlockMember> out;
        for (size_t i = 0; i < cycle.size(); ++i) {
            const uint64_t previous = cycle[(i + cycle.size() - 1) % cycle.size()];
            DeadlockMember m;
            m.waits_for = edges.at(cycle[i]).lock;
            m.holds = edges.at(previous).lock;
            for (const LockSite& h : states_[index_.at(m.holds)].holders)
                if (key(h) == cycle[i]) m.holds_at = h;
            for (const LockSite& w : states_[index_.at(m.waits_for)].waiters)
                if (key(w) == cycle[i]) m.waits_at = w;
            out.push_back(std::move(m));
        }
        return out;
    }

    Snapshot& snap_;
    const std::unordered_map<int, TargetThread>& kernel_;
    LockObjects locks_;
    FrameSlots slots_;
    std::vector<LockState> states_;
    std::unordered_map<uint64_t, size_t> index_;               // lock address -> states_
    std::unordered_map<uint64_t, const LockObject*> objects_;  // lock address -> as read (in locks_)
    // Each lock's holders and waiters, as add_site() knows them.
    struct SiteKey {
        uint64_t lock;
        Role role;
        uint64_t thread_state, task;
        bool is_task;
        bool operator==(const SiteKey&) const = default;
    };
    struct SiteKeyHash {
        size_t operator()(const SiteKey& k) const {
            uint64_t h = k.lock * 0x9e3779b97f4a7c15ULL;
            h ^= (k.thread_state + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2));
            h ^= (k.task + 0x85ebca77c2b2ae63ULL + (h << 6) + (h >> 2));
            return static_cast<size_t>(h ^ (static_cast<uint64_t>(k.role) << 1) ^ (k.is_task ? 1 : 0));
        }
    };
    std::unordered_set<SiteKey, SiteKeyHash> sites_;
    std::unordered_map<uint64_t, size_t> ranks_;  // a party (key()) -> its place in the snapshot, for members()
    // By key(): a thread's state or a task.
    std::unordered_map<uint64_t, uint64_t> notified_;  // -> the Condition/Semaphore/Event it waits on
    std::unordered_map<uint64_t, uint64_t> waits_;     // -> the lock it waits to acquire
};

}  // namespace

void read_locks(Extraction& x, Snapshot& snap, const std::unordered_map<int, TargetThread>& kernel) {
    snap.locks_asked = true;
    LockGraph(x, snap, kernel).run();
}

}  // namespace stackscope
