#pragma once
// co_exceptiontable (3.11+): which handler each instruction unwinds to, and at what
// value-stack depth.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace stackscope {

struct ExceptionTableEntry {
    uint32_t start = 0;  // code units, end exclusive
    uint32_t end = 0;
    uint32_t target = 0;  // the handler's first instruction
    uint32_t depth = 0;   // value-stack depth the handler starts from
    bool lasti = false;   // the handler also gets the raising instruction's offset pushed
};

// Decodes the table, stopping at the first malformed or out-of-order entry and after
// `max_entries`: a damaged table yields the entries before the damage.
std::vector<ExceptionTableEntry> parse_exception_table(std::span<const uint8_t> table, size_t max_entries = 1 << 16);

// The entry covering `unit` (entries are sorted and do not overlap), if any.
std::optional<ExceptionTableEntry> handler_for(std::span<const ExceptionTableEntry> table, uint32_t unit);

}  // namespace stackscope
