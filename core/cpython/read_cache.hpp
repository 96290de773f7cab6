#pragma once
// A cache for what is read from mutable target memory (dicts, lists, instance state): it
// lives for one read of the target, and is dropped with the page cache (RemoteMemory::clear),
// so that a running target's changes are seen by the next read. Immutable objects (code
// objects, str, types) are cached for a whole extraction instead, by their readers.
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "target/remote_memory.hpp"

namespace stackscope {

template <typename Key, typename Value>
class PerReadCache {
public:
    explicit PerReadCache(const RemoteMemory& memory) : memory_(memory) {}

    const Value* find(const Key& key) {
        drop_if_stale();
        auto it = entries_.find(key);
        return it == entries_.end() ? nullptr : &it->second;
    }
    // Room for `count` entries, so that a long walk does not rehash as it goes.
    void reserve(size_t count) { entries_.reserve(count); }
    const Value& insert(const Key& key, Value value) {
        drop_if_stale();
        return entries_.insert_or_assign(key, std::move(value)).first->second;
    }

private:
    void drop_if_stale() {
        if (generation_ == memory_.generation()) return;
        entries_.clear();
        generation_ = memory_.generation();
    }

    const RemoteMemory& memory_;
    uint64_t generation_ = 0;
    std::unordered_map<Key, Value> entries_;
};

}  // namespace stackscope
