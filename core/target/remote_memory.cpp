#include "target/remote_memory.hpp"

#include <algorithm>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {
constexpr size_t kMaxRunPages = 64;  // one target read fetches at most 256 KiB
}

void RemoteMemory::fill_run(uint64_t first_page, size_t page_count) {
    // Uninitialised: only the bytes the target gave are ever read (Page::valid).
    Page single;
    std::unique_ptr<uint8_t[]> run;
    uint8_t* buffer = nullptr;
    if (page_count == 1) {
        single.bytes = std::make_unique_for_overwrite<uint8_t[]>(kPageSize);
        buffer = single.bytes.get();
    } else {
        run = std::make_unique_for_overwrite<uint8_t[]>(page_count * kPageSize);
        buffer = run.get();
    }
    ++target_reads_;
    size_t got = target_.read(first_page, std::span(buffer, page_count * kPageSize));
    for (size_t i = 0; i < page_count; ++i) {
        Page p;
        const size_t page_start = i * kPageSize;
        p.valid = got > page_start ? std::min<size_t>(got - page_start, kPageSize) : 0;
        if (page_count == 1) {
            p.bytes = std::move(single.bytes);
        } else {
            p.bytes = std::make_unique_for_overwrite<uint8_t[]>(kPageSize);
            if (p.valid) std::memcpy(p.bytes.get(), buffer + page_start, p.valid);
        }
        pages_.emplace(first_page + page_start, std::move(p));
        if (got < page_start + kPageSize) {
            // The rest of the run is past the readable end; later pages are fetched
            // on their own when asked for (they may be readable from another mapping).
            break;
        }
    }
}

const RemoteMemory::Page& RemoteMemory::page(uint64_t page_address) {
    auto it = pages_.find(page_address);
    if (it == pages_.end()) {
        fill_run(page_address, 1);
        it = pages_.find(page_address);
    }
    // unordered_map nodes stay put until clear()
    recent_[(page_address / kPageSize) % kRecentPages] =
        RecentPage{page_address, it->second.bytes.get(), static_cast<uint32_t>(it->second.valid), generation_};
    return it->second;
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
    // Fetch every missing page of the range with as few target reads as possible.
    const uint64_t first = address & ~(kPageSize - 1);
    const uint64_t last = (address + out.size() - 1) & ~(kPageSize - 1);
    for (uint64_t p = first; p <= last;) {
        if (pages_.count(p)) {
            p += kPageSize;
            continue;
        }
        size_t run = 1;
        while (run < kMaxRunPages && p + run * kPageSize <= last && !pages_.count(p + run * kPageSize)) ++run;
        fill_run(p, run);
        if (!pages_.count(p)) break;
        const Page& filled = pages_.at(p);
        if (filled.valid < kPageSize) break;
        p += kPageSize;
    }
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t at = address + done;
        const uint64_t page_address = at & ~(kPageSize - 1);
        const Page& p = page(page_address);
        const size_t in_page = at - page_address;
        if (in_page >= p.valid) break;
        const size_t n = std::min<size_t>(p.valid - in_page, out.size() - done);
        std::memcpy(out.data() + done, p.bytes.get() + in_page, n);
        done += n;
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
