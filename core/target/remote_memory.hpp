#pragma once
// Page-cached, bounds-checked reads of target memory. One instance lives for one
// extraction; it counts the reads it sends to the target. The cache holds a bounded number of
// pages, so that walking a large heap costs a bounded amount of our memory: fresh memory is
// what reading ten thousand tasks spent most on, and a walk rarely comes back to a page it
// left long ago. A page evicted and read again (and a read longer than a run, never cached)
// shows the target as it is then: on a running target that may differ from what was read
// before, as two pages read at different times always could.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope {

class RemoteMemory {
public:
    static constexpr uint64_t kPageSize = 4096;
    static constexpr size_t kMaxRunPages = 64;  // one cached target read fetches at most 256 KiB
    // Above every x86-64 user address (5-level paging included): anything higher is garbage.
    static constexpr uint64_t kAddressLimit = uint64_t{1} << 57;
    static constexpr size_t kMaxReadBytes = 64 << 20;

    // The pages kept by default: 1 MiB. Reading the ten thousand tasks of W2 (18 MiB of target
    // memory) with two readers then makes 15% more target reads than with no bound, and
    // faults in 4,000 fewer pages of our own, which cost more here than the reads.
    static constexpr size_t kDefaultCachedPages = 256;
    // Of a target whose reads are costly (Target::costly_reads): 64 MiB, more than W2 visits.
    static constexpr size_t kCostlyReadCachedPages = 16384;
    // Twice the pages one cached read fills (kMaxRunPages): fewer would read pages of a read
    // in progress again.
    static constexpr size_t kMinCachedPages = 128;

    explicit RemoteMemory(Target& target)
        : RemoteMemory(target, target.costly_reads() ? kCostlyReadCachedPages : kDefaultCachedPages) {}
    RemoteMemory(Target& target, size_t cached_pages)
        : target_(target), capacity_(std::max(cached_pages, kMinCachedPages)) {}
    size_t capacity() const { return capacity_; }  // in pages

    Target& target() const { return target_; }

    // Reads exactly out.size() bytes or throws a bad_data Error naming the address.
    void read(uint64_t address, std::span<uint8_t> out) {
        ++requested_reads_;
        if (!read_recent(address, out.data(), out.size())) read_missed(address, out);
    }
    // Reads as much as is readable from the start; returns the count.
    size_t read_some(uint64_t address, std::span<uint8_t> out);

    // Reads straight from the target, bypassing (and not filling) the cache, but counted:
    // for scans over memory that is read once.
    size_t read_uncached(uint64_t address, std::span<uint8_t> out);

    // Throws for sizes over kMaxReadBytes; allocates only once the last byte proved readable.
    std::vector<uint8_t> read_bytes(uint64_t address, size_t size);

    template <typename T>
    T read_value(uint64_t address) {
        T value;
        ++requested_reads_;
        if (!read_recent(address, &value, sizeof(T)))
            read_missed(address, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)));
        return value;
    }
    uint64_t read_pointer(uint64_t address) { return read_value<uint64_t>(address); }

    uint64_t target_reads() const { return target_reads_; }
    uint64_t requested_reads() const { return requested_reads_; }
    // Forgets every page read so far: the next reads see what the target holds now. Caches
    // of what was read from mutable memory (read_cache.hpp) follow it by `generation`.
    void clear() {
        slot_of_.clear();
        slots_.clear();
        next_victim_ = 0;
        ++generation_;
    }
    uint64_t generation() const { return generation_; }
    size_t cached_pages() const { return slot_of_.size(); }

private:
    // A page of the cache: its first `valid` bytes are at bytes_of(slot).
    struct Slot {
        uint64_t address = 0;
        size_t valid = 0;  // readable prefix of the page
    };
    const Slot& page(uint64_t page_address);
    uint8_t* bytes_of(const Slot& slot) const {
        const size_t index = static_cast<size_t>(&slot - slots_.data());
        return chunks_[index / kChunkPages].get() + (index % kChunkPages) * kPageSize;
    }
    // A slot for `page_address`, evicting the oldest page when the cache is full.
    Slot& take_slot(uint64_t page_address);
    bool cached(uint64_t page_address) const { return slot_of_.count(page_address) > 0; }
    // Most reads are a few bytes inside a page read recently: copies them when they are.
    bool read_recent(uint64_t address, void* out, size_t size) const {
        if (size == 0) return true;  // out may be null
        const uint64_t page_address = address & ~(kPageSize - 1);
        const RecentPage& recent = recent_[(page_address / kPageSize) % kRecentPages];
        if (recent.address != page_address || recent.generation != generation_ || recent.bytes == nullptr ||
            address - page_address + size > recent.valid)
            return false;
        std::memcpy(out, recent.bytes + (address - page_address), size);
        return true;
    }
    size_t read_through(uint64_t address, std::span<uint8_t> out);
    // Longer reads than a run go straight into `out`: caching them would evict the pages of
    // the walk in progress for bytes that are read once.
    size_t read_long(uint64_t address, std::span<uint8_t> out);
    void read_missed(uint64_t address, std::span<uint8_t> out);
    void fill_run(uint64_t first_page, size_t page_count);

    Target& target_;
    size_t capacity_;  // in pages
    // The slots' bytes, kChunkPages pages to a chunk, made as the slots are: a short read of a
    // target allocates little, a costly target's cache no more than it fills.
    static constexpr size_t kChunkPages = 32;
    std::vector<std::unique_ptr<uint8_t[]>> chunks_;
    std::unique_ptr<uint8_t[]> run_buffer_;           // kMaxRunPages pages, for runs of more than one
    std::vector<Slot> slots_;                         // the slots in use, at most capacity_
    std::unordered_map<uint64_t, uint32_t> slot_of_;  // page address -> index in slots_
    size_t next_victim_ = 0;                          // the oldest slot once all are in use
    uint64_t target_reads_ = 0;
    uint64_t requested_reads_ = 0;  // reads asked of the cache
    // The pages read last, by page number: most reads fall inside one of them.
    // Tagged with the generation that read them: clear() forgets them all without a pass.
    struct RecentPage {
        uint64_t address = 0;
        const uint8_t* bytes = nullptr;
        uint32_t valid = 0;
        uint64_t generation = 0;
    };
    // Direct-mapped by page number, 16 times the default cache: few of its pages collide.
    static constexpr size_t kRecentPages = 4096;
    std::vector<RecentPage> recent_ = std::vector<RecentPage>(kRecentPages);
    uint64_t generation_ = 1;  // entries of generation 0 are empty
};

}  // namespace stackscope
