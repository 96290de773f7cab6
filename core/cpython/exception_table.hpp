#pragma once
// co_exceptiontable (3.11+): which handler each instruction unwinds to, and at what
// value-stack depth.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace stackscope {

// One entry of a 3.11+ co_exceptiontable, in code units; `end` is exclusive.
struct ExceptionEntry {
    uint32_t start = 0;
    uint32_t end = 0;
    uint32_t target = 0;  // the handler's first instruction
    uint32_t depth = 0;   // value-stack depth the handler starts from
    bool lasti = false;   // the handler also gets the raising instruction's offset pushed
};

// Decodes the table. Throws bad_data for a malformed table: an entry without its start bit, a
// truncated or over-long varint, a range past 2^32, entries out of order or overlapping (the
// lookup below relies on the order), or more than `max_entries` entries.
std::vector<ExceptionEntry> decode_exception_table(std::span<const uint8_t> table, size_t max_entries = 1 << 16);

// The entry covering `unit`, if any, in a decoded (sorted) table.
std::optional<ExceptionEntry> handler_for(std::span<const ExceptionEntry> table, uint32_t unit);

}  // namespace stackscope
