#include "cpython/lock_objects.hpp"

#include <algorithm>
#include <limits>

#include "cpython/deque_reader.hpp"
#include "stackscope/error.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxWaitingFutures = 10000;
// Waiting futures read for all the locks of one read: many lock objects could claim one long
// `_waiters` deque.
constexpr size_t kMaxWaitingFuturesInAll = 1000000;

}  // namespace

bool is_asyncio(LockKind kind) {
    switch (kind) {
        case LockKind::Lock:
        case LockKind::RLock:
        case LockKind::Condition:
        case LockKind::Semaphore: return false;
        case LockKind::AsyncioLock:
        case LockKind::AsyncioSemaphore:
        case LockKind::AsyncioEvent:
        case LockKind::AsyncioCondition: return true;
    }
    return false;
}

uint64_t LockObjects::module_class(std::string_view module, std::string_view name) {
    const std::string key = std::string(module) + "." + std::string(name);
    if (auto it = classes_.find(key); it != classes_.end()) return it->second;
    uint64_t cls = 0;
    try {
        if (const auto found = objects_.module_global(module, name); found && objects_.is_class(*found)) cls = *found;
    } catch (const Error&) {}
    classes_.emplace(key, cls);
    return cls;
}

bool LockObject::has_waiting_future(uint64_t future) const {
    return std::binary_search(waiting_futures.begin(), waiting_futures.end(), future);
}

const LockObject* LockObjects::read(uint64_t object) {
    if (!object) return nullptr;
    auto it = locks_.find(object);
    if (it == locks_.end()) {
        std::optional<LockObject> lock;
        try {
            lock = read_uncached(object);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
        }
        it = locks_.emplace(object, std::move(lock)).first;
    }
    return it->second ? &*it->second : nullptr;
}

std::optional<LockObject> LockObjects::read_uncached(uint64_t object) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const uint64_t type = objects_.type_of(object);
    LockObject lock;
    lock.address = object;
    const auto tp_name = objects_.static_type_name(type);
    if (tp_name == "_thread.lock" || tp_name == "_thread.RLock") {
        const auto basic_size = mem.read_value<int64_t>(type + l.type_basicsize);
        lock.type = objects_.type_name(type);
        if (tp_name == "_thread.lock") {
            for (const LockLayout& layout : l.lock_layouts) {
                if (layout.basic_size != basic_size) continue;
                lock.kind = LockKind::Lock;
                lock.locked = (mem.read_value<uint8_t>(object + layout.state) & layout.locked_mask) != 0;
                if (layout.semaphore != kAbsent) lock.semaphore = mem.read_pointer(object + layout.semaphore);
                if (layout.parks) lock.parked_on = object + static_cast<uint64_t>(layout.state);
                return lock;
            }
            return std::nullopt;
        }
        for (const RLockLayout& layout : l.rlock_layouts) {
            if (layout.basic_size != basic_size) continue;
            lock.kind = LockKind::RLock;
            const auto owner = mem.read_value<uint64_t>(object + layout.owner);
            const auto raw_count = mem.read_value<uint64_t>(object + layout.count);
            if (raw_count >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw bad_data("an RLock counts " + std::to_string(raw_count) + " acquisitions", object);
            auto count = static_cast<int64_t>(raw_count);
            bool locked = count > 0;
            if (layout.mutex != kAbsent) {
                locked = (mem.read_value<uint8_t>(object + layout.mutex) & layout.locked_mask) != 0;
                if (layout.count_is_level) count = locked ? count + 1 : 0;
                lock.parked_on = object + static_cast<uint64_t>(layout.mutex);
            }
            if (layout.semaphore != kAbsent) lock.semaphore = mem.read_pointer(object + layout.semaphore);
            lock.locked = locked;
            lock.count = count;
            lock.owner = locked ? owner : 0;
            return lock;
        }
        return std::nullopt;
    }
    const auto instance_of = [&](std::string_view cls, std::string_view module = "threading") {
        const uint64_t c = module_class(module, cls);
        return c != 0 && objects_.is_subclass(type, c);
    };
    // threading._PyRLock (the pure-Python RLock, threading._RLock): its waiters wait on its _block.
    if (instance_of("_RLock")) {
        lock.kind = LockKind::RLock;
        lock.type = objects_.type_name(type);
        lock.inner = objects_.attribute(object, "_block").value_or(0);
        const auto owner = objects_.attribute(object, "_owner");
        const auto count = objects_.attribute(object, "_count");
        lock.count = count ? objects_.read_int(*count) : 0;
        lock.locked = lock.count > 0;
        if (owner && *lock.locked && !objects_.is_instance_or_named(*owner, BuiltinType::NoneType, "NoneType"))
            lock.owner = static_cast<uint64_t>(objects_.read_int(*owner));
        return lock;
    }
    if (instance_of("Condition")) {
        lock.kind = LockKind::Condition;
        lock.type = objects_.type_name(type);
        lock.inner = objects_.attribute(object, "_lock").value_or(0);
        return lock;
    }
    if (instance_of("Semaphore")) {
        lock.kind = LockKind::Semaphore;
        lock.type = objects_.type_name(type);
        lock.inner = objects_.attribute(object, "_cond").value_or(0);
        if (const auto value = objects_.attribute(object, "_value")) {
            lock.value = objects_.read_int(*value);
            lock.locked = *lock.value == 0;
        }
        return lock;
    }
    // asyncio.locks: typed `asyncio.Lock` and so on (threading's are `lock`, `RLock`, ...).
    static constexpr std::pair<std::string_view, LockKind> kAsyncio[] = {
        {"Lock", LockKind::AsyncioLock},
        {"Semaphore", LockKind::AsyncioSemaphore},
        {"Event", LockKind::AsyncioEvent},
        {"Condition", LockKind::AsyncioCondition},
    };
    for (const auto& [name, kind] : kAsyncio) {
        if (!instance_of(name, "asyncio.locks")) continue;
        lock.kind = kind;
        lock.type = "asyncio." + objects_.type_name(type);
        auto flag = [&](std::string_view attribute) -> std::optional<int64_t> {
            const auto value = objects_.attribute_or_class_default(object, attribute);
            if (!value) return std::nullopt;
            return objects_.read_int(*value);
        };
        switch (kind) {
            case LockKind::AsyncioLock:
                if (const auto locked = flag("_locked")) lock.locked = *locked != 0;
                break;
            case LockKind::AsyncioSemaphore:
                lock.value = flag("_value");
                if (lock.value) lock.locked = *lock.value == 0;
                break;
            case LockKind::AsyncioEvent:
                if (const auto set = flag("_value")) lock.locked = *set == 0;  // not set: waiters wait
                break;
            case LockKind::AsyncioCondition: lock.inner = objects_.attribute(object, "_lock").value_or(0); break;
            default: break;
        }
        read_waiting_futures(lock);
        return lock;
    }
    return std::nullopt;
}

void LockObjects::read_waiting_futures(LockObject& lock) {
    try {
        const auto waiters = objects_.attribute(lock.address, "_waiters");
        if (!waiters) return;
        // None (or no deque) until asyncio makes it on the first wait.
        const uint64_t deque_class = module_class("collections", "deque");
        if (deque_class ? objects_.type_of(*waiters) != deque_class : !is_deque(objects_, *waiters)) return;
        const size_t room = kMaxWaitingFuturesInAll - futures_read_;
        lock.waiting_futures = read_deque(objects_, *waiters, std::min(kMaxWaitingFutures, room));
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        lock.waiters_unread = true;
        return;
    }
    futures_read_ += lock.waiting_futures.size();
    std::sort(lock.waiting_futures.begin(), lock.waiting_futures.end());
}

bool LockObjects::futex_waits_for(uint64_t futex, const LockObject& lock) {
    if (!futex) return false;
    if (lock.semaphore) return lock.semaphore == futex;
    if (!lock.parked_on || objects_.layout().wait_entry_address == kAbsent) return false;
    auto it = parked_addresses_.find(futex);
    if (it == parked_addresses_.end()) {
        uint64_t parked = 0;
        try {
            parked =
                objects_.memory().read_pointer(futex + static_cast<uint64_t>(objects_.layout().wait_entry_address));
        } catch (const Error&) {}
        it = parked_addresses_.emplace(futex, parked).first;
    }
    return it->second == lock.parked_on;
}

}  // namespace stackscope
