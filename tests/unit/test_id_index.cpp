#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "common/id_index.hpp"

using namespace stackscope;

TEST_CASE("IdIndex gives each id the position it was first inserted at", "[id_index]") {
    // Addresses as the tasks have them (16-byte aligned, close together), some listed twice,
    // and more of them than the table was made for: it must grow and keep every position.
    std::mt19937_64 random(7);
    std::unordered_map<uint64_t, uint32_t> oracle;
    IdIndex index(100);
    std::vector<uint64_t> ids;
    for (uint32_t i = 0; i < 50000; ++i) {
        const uint64_t id =
            i % 7 == 3 && !ids.empty() ? ids[random() % ids.size()] : 0x7f0000000000 + 16 * (random() % 2000000);
        ids.push_back(id);
        const uint32_t expected = oracle.emplace(id, i).first->second;
        CHECK(index.insert(id, i) == expected);
    }
    CHECK(index.size() == oracle.size());
    for (const auto& [id, position] : oracle) REQUIRE(index.find(id) == position);
    for (int i = 0; i < 10000; ++i) {
        const uint64_t id = 0x7f0000000000 + 16 * (random() % 4000000) + 8;  // never inserted
        CHECK_FALSE(index.contains(id));
    }
}

TEST_CASE("IdIndex has no id 0", "[id_index]") {
    IdIndex index;
    CHECK(index.insert(0, 5) == IdIndex::kAbsent);
    CHECK(index.find(0) == IdIndex::kAbsent);
    CHECK(index.size() == 0);
    CHECK(index.insert(16, 1) == 1);
    CHECK(index.insert(16, 2) == 1);
    CHECK(index.find(32) == IdIndex::kAbsent);
}
