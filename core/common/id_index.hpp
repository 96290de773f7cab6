#pragma once
// The position of each of a list's objects by its address: an open-addressing table of ids to
// positions, for the passes over ten thousand asyncio tasks that each built a node-based map of
// them (a node allocated per task, and a division per lookup).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace stackscope {

class IdIndex {
public:
    static constexpr uint32_t kAbsent = UINT32_MAX;

    explicit IdIndex(size_t expected = 0) { resize(slots_for(expected)); }

    // Gives `id` (not 0: no object is at address 0) the position `position` unless it has one;
    // returns the position it has.
    uint32_t insert(uint64_t id, uint32_t position) {
        if (id == 0) return kAbsent;
        if (2 * (count_ + 1) > slots_.size()) grow();
        Slot& slot = slots_[find_slot(id)];
        if (slot.id == id) return slot.position;
        slot = Slot{id, position};
        ++count_;
        return position;
    }
    // Its position, or kAbsent.
    uint32_t find(uint64_t id) const {
        if (id == 0) return kAbsent;
        const Slot& slot = slots_[find_slot(id)];
        return slot.id == id ? slot.position : kAbsent;
    }
    bool contains(uint64_t id) const { return find(id) != kAbsent; }
    size_t size() const { return count_; }

private:
    struct Slot {
        uint64_t id = 0;  // 0: empty
        uint32_t position = kAbsent;
    };
    static size_t slots_for(size_t expected) {
        size_t slots = 16;
        while (slots < 2 * expected) slots *= 2;
        return slots;
    }
    void resize(size_t slots) {
        slots_.assign(slots, Slot{});
        shift_ = 64;
        for (size_t s = slots; s > 1; s /= 2) --shift_;
    }
    // The slot holding `id`, or the empty one where it would go. Objects are 16-byte aligned:
    // Fibonacci hashing spreads the high bits of the product over the table.
    size_t find_slot(uint64_t id) const {
        const size_t mask = slots_.size() - 1;
        for (size_t i = (id * 0x9E3779B97F4A7C15ull) >> shift_;; i = (i + 1) & mask) {
            if (slots_[i].id == id || slots_[i].id == 0) return i;
        }
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        resize(old.size() * 2);
        for (const Slot& slot : old) {
            if (slot.id != 0) slots_[find_slot(slot.id)] = slot;
        }
    }

    std::vector<Slot> slots_;
    unsigned shift_ = 60;
    size_t count_ = 0;
};

}  // namespace stackscope
