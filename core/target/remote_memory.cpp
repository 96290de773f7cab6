#include "target/remote_memory.hpp"

#include <algorithm>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

RemoteMemory::Slot& RemoteMemory::take_slot(uint64_t page_address) {
    size_t index = slots_.size();
    if (index < capacity_) {
        if (index / kChunkPages == chunks_.size())
            chunks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(kChunkPages * kPageSize));
        slots_.emplace_back();
    } else {
        index = next_victim_;
        next_victim_ = (next_victim_ + 1) % capacity_;
        const uint64_t evicted = slots_[index].address;
        slot_of_.erase(evicted);
        RecentPage& recent = recent_[(evicted / kPageSize) % kRecentPages];
        if (recent.address == evicted) recent = RecentPage{};
    }
    slot_of_[page_address] = static_cast<uint32_t>(index);
    slots_[index] = Slot{page_address, 0};
    return slots_[index];
}

void RemoteMemory::fill_run(uint64_t first_page, size_t page_count) {
    // Uninitialised: only the bytes the target gave are ever read (Slot::valid).
    if (page_count > 1 && !run_buffer_)
        run_buffer_ = std::make_unique_for_overwrite<uint8_t[]>(kMaxRunPages * kPageSize);
    Slot* single = page_count == 1 ? &take_slot(first_page) : nullptr;
    uint8_t* buffer = single ? bytes_of(*single) : run_buffer_.get();
    ++target_reads_;
    size_t got = 0;
    try {
        got = target_.read(first_page, std::span(buffer, page_count * kPageSize));
    } catch (...) {
        // Not read, so not cached as unreadable either.
        if (single) {
            slot_of_.erase(first_page);
            single->address = kAddressLimit;  // no page of the cache has it
        }
        throw;
    }
    for (size_t i = 0; i < page_count; ++i) {
        const size_t page_start = i * kPageSize;
        const size_t valid = got > page_start ? std::min<size_t>(got - page_start, kPageSize) : 0;
        // A read that ends where a page starts says nothing of that page: a target may stop at
        // the end of a mapping with the next one readable. It is read on its own when asked for.
        if (valid == 0 && i > 0) break;
        Slot& slot = single ? *single : take_slot(first_page + page_start);
        slot.valid = valid;
        if (!single && valid) std::memcpy(bytes_of(slot), buffer + page_start, valid);
        if (valid < kPageSize) break;  // the rest of the run is past the readable end
    }
}

const RemoteMemory::Slot& RemoteMemory::page(uint64_t page_address) {
    auto it = slot_of_.find(page_address);
    const Slot& slot =
        it == slot_of_.end() ? (fill_run(page_address, 1), slots_[slot_of_.at(page_address)]) : slots_[it->second];
    recent_[(page_address / kPageSize) % kRecentPages] =
        RecentPage{page_address, bytes_of(slot), static_cast<uint32_t>(slot.valid), generation_};
    return slot;
}

size_t RemoteMemory::read_some(uint64_t address, std::span<uint8_t> out) {
    ++requested_reads_;
    if (out.empty() || address >= kAddressLimit) return 0;
    if (read_recent(address, out.data(), out.size())) return out.size();
    return read_through(address, out);
}

void RemoteMemory::read_missed(uint64_t address, std::span<uint8_t> out) {
    if (out.empty()) return;
    if (address >= kAddressLimit || read_through(address, out) != out.size()) {
        throw unreadable(address, "cannot read " + std::to_string(out.size()) + " bytes at " + hex(address));
    }
}

size_t RemoteMemory::read_through(uint64_t address, std::span<uint8_t> out) {
    if (out.size() > kAddressLimit - address) out = out.first(kAddressLimit - address);
    const uint64_t first = address & ~(kPageSize - 1);
    const uint64_t last = (address + out.size() - 1) & ~(kPageSize - 1);
    if ((last - first) / kPageSize >= kMaxRunPages) return read_long(address, out);
    // Fetch every missing page of the range with as few target reads as possible.
    for (uint64_t p = first; p <= last;) {
        if (cached(p)) {
            p += kPageSize;
            continue;
        }
        size_t run = 1;
        while (run < kMaxRunPages && p + run * kPageSize <= last && !cached(p + run * kPageSize)) ++run;
        fill_run(p, run);
        const auto filled = slot_of_.find(p);
        if (filled == slot_of_.end() || slots_[filled->second].valid < kPageSize) break;
        p += kPageSize;
    }
    // A page cached before the fills may have made room for them: page() reads it again.
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t at = address + done;
        const uint64_t page_address = at & ~(kPageSize - 1);
        const Slot& p = page(page_address);
        const size_t in_page = at - page_address;
        if (in_page >= p.valid) break;
        const size_t n = std::min<size_t>(p.valid - in_page, out.size() - done);
        std::memcpy(out.data() + done, bytes_of(p) + in_page, n);
        done += n;
    }
    return done;
}

size_t RemoteMemory::read_long(uint64_t address, std::span<uint8_t> out) {
    // In runs of at most kMaxRunPages pages, as the cache reads them; after a short run, the
    // rest is read again from where it stopped (another mapping may follow), as fill_run leaves
    // the page after a short read to be read on its own.
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t at = address + done;
        const uint64_t run_end = (at & ~(kPageSize - 1)) + kMaxRunPages * kPageSize;
        const size_t size = std::min<size_t>(run_end - at, out.size() - done);
        ++target_reads_;
        const size_t got = std::min(target_.read(at, out.subspan(done, size)), size);
        if (got == 0) break;
        done += got;
    }
    return done;
}

size_t RemoteMemory::read_uncached(uint64_t address, std::span<uint8_t> out) {
    if (out.empty() || address >= kAddressLimit) return 0;
    if (out.size() > kAddressLimit - address) out = out.first(kAddressLimit - address);
    ++target_reads_;
    return std::min(target_.read(address, out), out.size());
}

std::vector<uint8_t> RemoteMemory::read_bytes(uint64_t address, size_t size) {
    if (size > kMaxReadBytes)
        throw bad_data("refusing to read " + std::to_string(size) + " bytes at " + hex(address), address);
    if (size > kPageSize) {
        uint8_t last = 0;
        if (read_some(address + size - 1, std::span(&last, 1)) != 1) {
            throw unreadable(address + size - 1, "cannot read " + std::to_string(size) + " bytes at " + hex(address));
        }
    }
    std::vector<uint8_t> out(size);
    read(address, out);
    return out;
}

}  // namespace stackscope
