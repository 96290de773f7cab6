#include <catch2/catch.hpp>

#include "cpython/deque_reader.hpp"
#include "cpython/object_reader.hpp"
#include "stackscope/error.hpp"
#include "synthetic_memory.hpp"
#include "target/remote_memory.hpp"

using namespace stackscope;
using stackscope_test::ObjectBuilder;
using stackscope_test::SyntheticTarget;

namespace {

// A collections.deque laid out as CPython's: blocks of BLOCKLEN items linked both ways.
struct DequeWorld {
    PythonLayout layout;
    SyntheticTarget target;
    ObjectBuilder b;
    uint64_t deque_type = 0;

    explicit DequeWorld(int minor) : layout(*layout_for(3, minor)), b(target, layout) {
        deque_type = b.type("collections.deque");
    }

    uint64_t block() { return b.alloc(static_cast<size_t>(layout.deque_block_right_link) + 8); }

    // A deque of `length` items (item i is 0x1000 * (i + 1)) starting at `left_index`.
    uint64_t deque(int64_t length, int64_t left_index, std::vector<uint64_t>* blocks_out = nullptr) {
        const auto per_block = layout.deque_block_length;
        std::vector<uint64_t> blocks{block()};
        int64_t index = left_index;
        for (int64_t i = 0; i < length; ++i) {
            if (index == per_block) {
                const uint64_t next = block();
                target.put_u64(blocks.back() + layout.deque_block_right_link, next);
                target.put_u64(next, blocks.back());  // leftlink
                blocks.push_back(next);
                index = 0;
            }
            target.put_u64(blocks.back() + layout.deque_block_items + 8 * static_cast<uint64_t>(index),
                           0x1000 * static_cast<uint64_t>(i + 1));
            ++index;
        }
        const uint64_t at = b.alloc(256);
        target.put_u64(at + layout.object_type, deque_type);
        target.put<int64_t>(at + layout.var_size, length);
        target.put_u64(at + layout.deque_left_block, blocks.front());
        target.put_u64(at + layout.deque_right_block, blocks.back());
        target.put<int64_t>(at + layout.deque_left_index, left_index);
        target.put<int64_t>(at + layout.deque_right_index, index - 1);
        if (blocks_out) *blocks_out = blocks;
        return at;
    }

    std::vector<uint64_t> read(uint64_t deque, size_t max_items = 1000) {
        RemoteMemory mem(target);
        BuiltinTypes types;
        ObjectReader objects(mem, layout, types);
        return read_deque(objects, deque, max_items);
    }
};

std::vector<uint64_t> items(int64_t count) {
    std::vector<uint64_t> out;
    for (int64_t i = 0; i < count; ++i) out.push_back(0x1000 * static_cast<uint64_t>(i + 1));
    return out;
}

}  // namespace

TEST_CASE("a deque's items, across blocks, on every layout", "[deque]") {
    for (int minor : {8, 11, 12, 14}) {
        DequeWorld w(minor);
        CHECK(w.read(w.deque(3, 31)) == items(3));
        CHECK(w.read(w.deque(5, 62)) == items(5));     // two in the first block, three in the next
        CHECK(w.read(w.deque(130, 0)) == items(130));  // three blocks
        CHECK(w.read(w.deque(0, 32)).empty());         // empty: left index = right index + 1
        CHECK(w.read(w.deque(64, 0)) == items(64));    // exactly one full block
    }
}

TEST_CASE("deques that are too long, not deques, or broken: errors, never a hang", "[deque]") {
    DequeWorld w(12);
    CHECK_THROWS_AS(w.read(w.deque(10, 0), 9), Error);  // more than asked to read
    const uint64_t other = w.b.type("list");
    const uint64_t not_a_deque = w.deque(2, 0);
    w.target.put_u64(not_a_deque + w.layout.object_type, other);
    CHECK_THROWS_AS(w.read(not_a_deque), Error);

    const uint64_t bad_index = w.deque(2, 0);
    w.target.put<int64_t>(bad_index + w.layout.deque_left_index, 64);
    CHECK_THROWS_AS(w.read(bad_index), Error);
    w.target.put<int64_t>(bad_index + w.layout.deque_left_index, -1);
    CHECK_THROWS_AS(w.read(bad_index), Error);

    const uint64_t negative = w.deque(2, 0);
    w.target.put<int64_t>(negative + w.layout.var_size, -5);
    CHECK_THROWS_AS(w.read(negative), Error);

    // A length beyond its blocks: the link runs out.
    std::vector<uint64_t> blocks;
    const uint64_t short_chain = w.deque(70, 0, &blocks);
    w.target.put_u64(blocks[0] + w.layout.deque_block_right_link, 0);
    CHECK_THROWS_AS(w.read(short_chain), Error);

    // A block linked to itself: the walk is bounded by the length and ends at the wrong block.
    const uint64_t loop = w.deque(70, 0, &blocks);
    w.target.put_u64(blocks[0] + w.layout.deque_block_right_link, blocks[0]);
    CHECK_THROWS_AS(w.read(loop), Error);
    w.target.put<int64_t>(loop + w.layout.var_size, 900);
    CHECK_THROWS_AS(w.read(loop), Error);

    // A right index that disagrees with the length.
    const uint64_t mismatch = w.deque(3, 0);
    w.target.put<int64_t>(mismatch + w.layout.deque_right_index, 7);
    CHECK_THROWS_AS(w.read(mismatch), Error);

    // An unmapped block.
    const uint64_t unmapped = w.deque(3, 0);
    w.target.put_u64(unmapped + w.layout.deque_left_block, 0xdead0000);
    CHECK_THROWS_AS(w.read(unmapped), Error);
}
