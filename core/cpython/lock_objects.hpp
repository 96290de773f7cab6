#pragma once
// Lock objects as their own state says: _thread's lock and RLock (laid out as their type's size
// says), threading's Condition and Semaphore (Python classes: their attributes), and how a
// thread blocked acquiring one is recognised by the futex it sleeps on.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpython/object_reader.hpp"

namespace stackscope {

enum class LockKind {
    Lock,       // _thread.lock (threading.Lock)
    RLock,      // _thread.RLock (threading.RLock), threading._PyRLock (its `inner`: the _block it waits on)
    Condition,  // threading.Condition (or a subclass)
    Semaphore,  // threading.Semaphore, BoundedSemaphore (or a subclass)
    // asyncio.locks' classes (or subclasses): tasks wait on the futures in their `_waiters`.
    AsyncioLock,
    AsyncioSemaphore,  // Semaphore, BoundedSemaphore
    AsyncioEvent,
    AsyncioCondition,
};

// Whether tasks (not threads) hold and wait for it.
bool is_asyncio(LockKind kind);

struct LockObject {
    uint64_t address = 0;
    LockKind kind = LockKind::Lock;
    std::string type;  // type(obj).__name__
    std::optional<bool> locked;
    uint64_t owner = 0;  // an RLock's owner's thread ident (pthread_t); 0 when not held
    std::optional<int64_t> count;
    std::optional<int64_t> value;
    uint64_t inner = 0;                     // a Condition's lock, a Semaphore's Condition; 0 when none
    uint64_t semaphore = 0;                 // the sem_t its waiters futex-wait on; 0 when they park
    uint64_t parked_on = 0;                 // the PyMutex its waiters park on; 0 when they wait on `semaphore`
    std::vector<uint64_t> waiting_futures;  // an asyncio lock's `_waiters`, by address
    // `_waiters` could not be read (unreadable, longer than the bound, or past the total of
    // futures read for all locks): who waits for it is unknown.
    bool waiters_unread = false;

    // Whether `future` is among waiting_futures.
    bool has_waiting_future(uint64_t future) const;
};

class LockObjects {
public:
    explicit LockObjects(ObjectReader& objects) : objects_(objects) {}

    // The lock at `object`; null when it is none of these kinds or cannot be read. It stays
    // valid as long as this reader (each lock is read once).
    const LockObject* read(uint64_t object);
    // Whether a thread blocked in a futex wait at `futex` is acquiring `lock`.
    bool futex_waits_for(uint64_t futex, const LockObject& lock);
    // The class of that name in that module (threading's Condition, asyncio.locks' Lock); 0 when
    // the module is not loaded.
    uint64_t module_class(std::string_view module, std::string_view name);

private:
    std::optional<LockObject> read_uncached(uint64_t object);
    void read_waiting_futures(LockObject& lock);

    ObjectReader& objects_;
    std::unordered_map<std::string, uint64_t> classes_;
    std::unordered_map<uint64_t, std::optional<LockObject>> locks_;
    std::unordered_map<uint64_t, uint64_t> parked_addresses_;  // futex -> its wait entry's addr
    size_t futures_read_ = 0;                                  // waiting futures read for all locks so far
};

}  // namespace stackscope
