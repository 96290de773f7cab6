#pragma once
// Decoders for CPython's line-number and exception tables. Pure functions over bytes
// copied out of the target; malformed input throws stackscope::Error (never reads past the span).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace stackscope {

// 3.8/3.9 co_lnotab: line of the instruction at byte offset `byte_offset`.
int lnotab_line(std::span<const uint8_t> lnotab, int first_line, int64_t byte_offset);

// 3.10 co_linetable (PEP 626): line of the instruction at byte offset, nullopt for "no line".
std::optional<int> linetable310_line(std::span<const uint8_t> table, int first_line, int64_t byte_offset);

// One entry of a 3.11+ location table, in code units [start, end).
struct Location {
    uint32_t start = 0;
    uint32_t end = 0;
    std::optional<int> line, end_line, column, end_column;
};

// 3.11+ co_linetable decoded in full.
std::vector<Location> decode_locations(std::span<const uint8_t> table, int first_line);

// 3.11+ line of the instruction at `code_unit`, nullopt when it has no location.
std::optional<int> location_line(std::span<const uint8_t> table, int first_line, uint32_t code_unit);

}  // namespace stackscope
