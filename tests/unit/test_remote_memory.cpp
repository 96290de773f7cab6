// Tests for core/remote_memory.hpp: the page cache over a SyntheticTarget whose reads are counted.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "stackscope/error.hpp"
#include "target/remote_memory.hpp"
#include "synthetic_memory.hpp"

using stackscope::Error;
using stackscope::ErrorKind;
using stackscope::RemoteMemory;
using stackscope_test::SyntheticTarget;

namespace {

constexpr uint64_t kPage = RemoteMemory::kPageSize;

// A block of `pages` pages at `base` whose byte i is pattern(base + i).
uint8_t pattern(uint64_t address) { return static_cast<uint8_t>((address * 31 + (address >> 12) * 7) & 0xff); }

void fill_pattern(SyntheticTarget& t, uint64_t base, size_t size) {
    t.add_block(base, size);
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = pattern(base + i);
    t.write(base, bytes);
}

bool matches_pattern(const std::vector<uint8_t>& bytes, uint64_t address) {
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != pattern(address + i)) return false;
    }
    return true;
}

// Like a debugger's memory callbacks: each read stops at the end of the block it starts in,
// also where the next block follows at once.
class StopsAtBlockEnds : public SyntheticTarget {
public:
    size_t read(uint64_t address, std::span<uint8_t> out) override {
        for (const auto& [start, bytes] : blocks()) {
            if (address >= start && address - start < bytes.size())
                return SyntheticTarget::read(address,
                                             out.first(std::min<size_t>(out.size(), bytes.size() - (address - start))));
        }
        return 0;
    }
};

}  // namespace

TEST_CASE("RemoteMemory reads values and ranges that span pages", "[remote_memory]") {
    SyntheticTarget t;
    const uint64_t base = 0x400000;
    fill_pattern(t, base, 8 * kPage);
    t.put_u64(base + kPage - 4, 0x1122334455667788ull);  // straddles the first page boundary
    RemoteMemory mem(t);

    CHECK(mem.read_pointer(base + kPage - 4) == 0x1122334455667788ull);
    CHECK(mem.read_value<uint32_t>(base + kPage) == 0x11223344u);

    const uint64_t at = base + kPage + 123;
    const std::vector<uint8_t> got = mem.read_bytes(at, 3 * kPage);  // touches 4 pages
    REQUIRE(got.size() == 3 * kPage);
    CHECK(matches_pattern(got, at));
}

TEST_CASE("RemoteMemory page cache counts target reads", "[remote_memory]") {
    SyntheticTarget t;
    const uint64_t base = 0x7f0000000000;
    fill_pattern(t, base, 200 * kPage);
    RemoteMemory mem(t);

    SECTION("one read for N contiguous uncached pages, none for cached data") {
        std::vector<uint8_t> out(5 * kPage);
        REQUIRE(mem.read_some(base + 10, out) == out.size());  // 6 pages: base .. base+5p+10
        CHECK(mem.target_reads() == 1);
        CHECK(t.reads() == 1);
        CHECK(t.read_log().front().first == base);
        CHECK(t.read_log().front().second == 6 * kPage);
        CHECK(matches_pattern(out, base + 10));

        // Everything below is inside those six pages.
        CHECK(mem.read_value<uint64_t>(base + 5 * kPage + 8) != 0xdeadbeef);
        std::vector<uint8_t> again(6 * kPage);
        CHECK(mem.read_some(base, again) == again.size());
        CHECK(matches_pattern(again, base));
        CHECK(mem.target_reads() == 1);
        CHECK(t.reads() == 1);

        // One more page: one more read, of that page only.
        std::vector<uint8_t> next(16);
        mem.read(base + 6 * kPage + 4, next);
        CHECK(mem.target_reads() == 2);
        CHECK(t.read_log().back().first == base + 6 * kPage);
        CHECK(t.read_log().back().second == kPage);
        CHECK(matches_pattern(next, base + 6 * kPage + 4));
    }

    SECTION("a read with a cached hole in the middle fetches the runs on either side") {
        (void)mem.read_value<uint8_t>(base + 3 * kPage);  // caches page 3
        CHECK(mem.target_reads() == 1);
        std::vector<uint8_t> out(7 * kPage);  // pages 0..6
        REQUIRE(mem.read_some(base, out) == out.size());
        CHECK(matches_pattern(out, base));
        CHECK(mem.target_reads() == 3);  // pages 0-2 and 4-6
    }

    SECTION("very long reads are split into bounded runs") {
        std::vector<uint8_t> out(150 * kPage);
        REQUIRE(mem.read_some(base, out) == out.size());
        CHECK(matches_pattern(out, base));
        CHECK(mem.target_reads() == 3);  // 64 + 64 + 22 pages
        for (const auto& [address, size] : t.read_log()) CHECK(size <= 64 * kPage);
    }

    SECTION("clear() drops the cache") {
        (void)mem.read_pointer(base);
        (void)mem.read_pointer(base);
        CHECK(mem.target_reads() == 1);
        mem.clear();
        (void)mem.read_pointer(base);
        CHECK(mem.target_reads() == 2);
    }
}

TEST_CASE("RemoteMemory short reads at the end of readable memory", "[remote_memory]") {
    SyntheticTarget t;
    const uint64_t base = 0x500000;
    fill_pattern(t, base, 2 * kPage + 100);  // ends 100 bytes into the third page
    RemoteMemory mem(t);

    SECTION("read_some returns the readable count") {
        std::vector<uint8_t> out(2 * kPage);
        const uint64_t at = base + kPage + 50;
        CHECK(mem.read_some(at, out) == kPage - 50 + 100);
        out.resize(kPage - 50 + 100);
        CHECK(matches_pattern(out, at));
    }

    SECTION("read_some of a range that starts in unreadable memory returns 0") {
        std::vector<uint8_t> out(64, 0xaa);
        CHECK(mem.read_some(base + 2 * kPage + 100, out) == 0);
        CHECK(mem.read_some(base - 8, out) == 0);
        CHECK(mem.read_some(0, out) == 0);
    }

    SECTION("read and read_pointer throw an unreadable-memory error naming the address") {
        std::vector<uint8_t> out(200);
        try {
            mem.read(base + 2 * kPage, out);
            FAIL("read past the end did not throw");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::UnreadableMemory);
            CHECK(e.address() == base + 2 * kPage);
            CHECK_THAT(e.what(), Catch::Contains("0x502000"));
        }
        CHECK_THROWS_AS(mem.read_pointer(base + 2 * kPage + 96), Error);  // 4 of 8 bytes readable
        CHECK(mem.read_value<uint32_t>(base + 2 * kPage + 96) ==
              uint32_t(pattern(base + 2 * kPage + 96)) + (uint32_t(pattern(base + 2 * kPage + 97)) << 8) +
                  (uint32_t(pattern(base + 2 * kPage + 98)) << 16) + (uint32_t(pattern(base + 2 * kPage + 99)) << 24));
        CHECK_THROWS_AS(mem.read_bytes(0x10, 1), Error);
    }

    SECTION("memory after a hole is still readable") {
        fill_pattern(t, base + 4 * kPage, kPage);
        std::vector<uint8_t> out(5 * kPage);
        CHECK(mem.read_some(base, out) == 2 * kPage + 100);
        CHECK(mem.read_pointer(base + 4 * kPage + 8) != 0);
        std::vector<uint8_t> tail(kPage);
        CHECK(mem.read_some(base + 4 * kPage, tail) == kPage);
        CHECK(matches_pattern(tail, base + 4 * kPage));
    }
}

TEST_CASE("RemoteMemory addresses near UINT64_MAX", "[remote_memory]") {
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    const uint64_t top_page = kMax - kPage + 1;

    SECTION("nothing mapped there") {
        SyntheticTarget t;
        RemoteMemory mem(t);
        std::vector<uint8_t> out(64);
        CHECK(mem.read_some(kMax - 10, out) == 0);  // the range wraps
        CHECK(mem.read_some(kMax, out) == 0);
        CHECK(mem.read_some(top_page, out) == 0);
        CHECK(mem.read_some(top_page - 32, out) == 0);
        std::vector<uint8_t> huge(3 * kPage);
        CHECK(mem.read_some(kMax - kPage, huge) == 0);
        CHECK_THROWS_AS(mem.read_pointer(kMax - 3), Error);
        CHECK_THROWS_AS(mem.read_pointer(kMax), Error);
        CHECK_THROWS_AS(mem.read_pointer(top_page), Error);
    }

    SECTION("the top page mapped: still no user address, so never read") {
        SyntheticTarget t;
        fill_pattern(t, top_page, kPage);
        RemoteMemory mem(t);
        std::vector<uint8_t> out(64);
        CHECK(mem.read_some(top_page + 16, out) == 0);
        CHECK(mem.read_some(kMax - 10, out) == 0);
        CHECK_THROWS_AS(mem.read_pointer(kMax - 3), Error);
        CHECK(mem.target_reads() == 0);
    }
}

TEST_CASE("RemoteMemory refuses addresses above the user address space", "[remote_memory]") {
    const uint64_t limit = RemoteMemory::kAddressLimit;
    SyntheticTarget t;
    fill_pattern(t, limit - kPage, 2 * kPage);
    RemoteMemory mem(t);
    std::vector<uint8_t> out(32);
    CHECK(mem.read_some(limit - 16, out) == 16);  // stops at the limit
    CHECK(matches_pattern(std::vector<uint8_t>(out.begin(), out.begin() + 16), limit - 16));
    CHECK(mem.read_some(limit, out) == 0);
    CHECK_THROWS_AS(mem.read_bytes(limit - 16, RemoteMemory::kMaxReadBytes + 1), Error);
}

TEST_CASE("RemoteMemory empty reads do not touch the target", "[remote_memory]") {
    SyntheticTarget t;
    RemoteMemory mem(t);
    std::vector<uint8_t> none;
    CHECK(mem.read_some(0x1234, none) == 0);
    CHECK_NOTHROW(mem.read(0x1234, none));
    CHECK(mem.target_reads() == 0);
    CHECK(t.reads() == 0);
}

TEST_CASE("RemoteMemory keeps a bounded number of pages", "[remote_memory]") {
    SyntheticTarget t;
    const uint64_t base = 0x7f1000000000;
    constexpr size_t kKept = RemoteMemory::kMinCachedPages;
    fill_pattern(t, base, 3 * kKept * kPage);
    RemoteMemory mem(t, kKept);
    const auto value_at = [&](uint64_t address) {
        return mem.read_value<uint32_t>(address) == uint32_t(pattern(address)) + (uint32_t(pattern(address + 1)) << 8) +
                                                        (uint32_t(pattern(address + 2)) << 16) +
                                                        (uint32_t(pattern(address + 3)) << 24);
    };

    SECTION("the oldest pages make room, and are read again when asked for") {
        for (size_t i = 0; i < 2 * kKept; ++i) REQUIRE(value_at(base + i * kPage + 8));
        CHECK(mem.target_reads() == 2 * kKept);
        CHECK(mem.cached_pages() == kKept);
        CHECK(value_at(base + (2 * kKept - 1) * kPage + 16));  // kept
        CHECK(mem.target_reads() == 2 * kKept);
        // Page 0's slot now holds page kKept: a stale pointer to it would give that page's bytes.
        CHECK(value_at(base + 16));
        CHECK(mem.target_reads() == 2 * kKept + 1);
        CHECK(mem.cached_pages() == kKept);

        // Cleared, the slots hold other pages: slot i takes page 2 * kKept + i. Page kKept + 3,
        // which slot 3 held, must then be read again, not served from its old recent entry.
        mem.clear();
        CHECK(mem.cached_pages() == 0);
        for (size_t i = 0; i < kKept; ++i) REQUIRE(value_at(base + (2 * kKept + i) * kPage + 24));
        CHECK(mem.cached_pages() == kKept);
        const uint64_t reads = mem.target_reads();
        CHECK(value_at(base + (kKept + 3) * kPage + 32));
        CHECK(mem.target_reads() == reads + 1);
    }

    SECTION("a page evicted by the fills of a read that spans it is read again") {
        REQUIRE(value_at(base));  // page 0, the oldest once the cache is full
        for (size_t i = 0; i < kKept - 1; ++i) REQUIRE(value_at(base + (10 + i) * kPage));
        std::vector<uint8_t> out(3 * kPage);  // pages 0 (cached), 1, 2 and 3 (missing)
        REQUIRE(mem.read_some(base + 100, out) == out.size());
        CHECK(matches_pattern(out, base + 100));
        CHECK(mem.target_reads() == kKept + 2);  // pages 1-3 in one read, then page 0 again
    }

    SECTION("reads longer than a run are not cached") {
        std::vector<uint8_t> out((RemoteMemory::kMaxRunPages + 8) * kPage);
        REQUIRE(mem.read_some(base + 40, out) == out.size());
        CHECK(matches_pattern(out, base + 40));
        CHECK(mem.cached_pages() == 0);
        CHECK(mem.target_reads() == 2);
    }

    SECTION("a long read stops where the readable memory ends") {
        std::vector<uint8_t> out(3 * kKept * kPage);
        CHECK(mem.read_some(base + kKept * kPage + 5, out) == 2 * kKept * kPage - 5);
        CHECK(mem.cached_pages() == 0);
    }
}

TEST_CASE("RemoteMemory keeps many more pages of a target whose reads are costly", "[remote_memory]") {
    SyntheticTarget t;
    const uint64_t base = 0x7f2000000000;
    const size_t pages = RemoteMemory::kDefaultCachedPages + 100;
    fill_pattern(t, base, pages * kPage);
    const auto read_every_page_twice = [&](RemoteMemory& mem) {
        for (int pass = 0; pass < 2; ++pass) {
            for (size_t i = 0; i < pages; ++i) (void)mem.read_value<uint8_t>(base + i * kPage);
        }
    };

    RemoteMemory cheap(t);
    CHECK(cheap.capacity() == RemoteMemory::kDefaultCachedPages);
    read_every_page_twice(cheap);
    CHECK(cheap.target_reads() == 2 * pages);  // oldest out first: each page was gone again

    t.set_costly_reads(true);
    RemoteMemory costly(t);
    CHECK(costly.capacity() == RemoteMemory::kCostlyReadCachedPages);
    read_every_page_twice(costly);
    CHECK(costly.target_reads() == pages);
    CHECK(costly.cached_pages() == pages);
}

TEST_CASE("RemoteMemory reads on where a target stopped at the end of a mapping", "[remote_memory]") {
    StopsAtBlockEnds t;
    const uint64_t base = 0x7f3000000000;
    constexpr size_t kBlockPages = 40;
    fill_pattern(t, base, kBlockPages * kPage);
    fill_pattern(t, base + kBlockPages * kPage, kBlockPages * kPage);  // the next mapping, adjacent
    RemoteMemory mem(t);

    SECTION("through the cache") {
        std::vector<uint8_t> out(2 * kPage);  // pages 39-41: the first read stops at page 40
        const uint64_t at = base + (kBlockPages - 1) * kPage + 8;
        REQUIRE(mem.read_some(at, out) == out.size());
        CHECK(matches_pattern(out, at));
        CHECK(mem.target_reads() == 2);
    }
    SECTION("longer than a run, past the cache") {
        std::vector<uint8_t> out((RemoteMemory::kMaxRunPages + 6) * kPage);
        REQUIRE(mem.read_some(base + 8, out) == out.size());
        CHECK(matches_pattern(out, base + 8));
    }
    SECTION("where nothing follows, the read ends there") {
        std::vector<uint8_t> out(3 * kPage);  // pages 78-80: 80 is past both blocks
        const uint64_t at = base + (2 * kBlockPages - 2) * kPage;
        CHECK(mem.read_some(at, out) == 2 * kPage);
        CHECK_THROWS_AS(mem.read_pointer(base + 2 * kBlockPages * kPage), Error);
    }
}
