#include "cpython/exception_table.hpp"

#include <algorithm>

namespace stackscope {

namespace {

// Big-endian varint of 6-bit chunks, 0x40 meaning more follow (Objects/exception_handling_notes.txt).
std::optional<uint32_t> read_varint(std::span<const uint8_t> table, size_t& at) {
    uint64_t value = 0;
    for (int chunk = 0; chunk < 6 && at < table.size(); ++chunk) {
        const uint8_t byte = table[at++];
        value = (value << 6) | (byte & 63);
        if (!(byte & 64)) return value <= UINT32_MAX ? std::optional(static_cast<uint32_t>(value)) : std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

std::vector<ExceptionTableEntry> parse_exception_table(std::span<const uint8_t> table, size_t max_entries) {
    std::vector<ExceptionTableEntry> entries;
    size_t at = 0;
    while (at < table.size() && entries.size() < max_entries) {
        if (!(table[at] & 0x80)) break;  // every entry starts with the marker bit
        const auto start = read_varint(table, at);
        const auto length = read_varint(table, at);
        const auto target = read_varint(table, at);
        const auto depth_lasti = read_varint(table, at);
        if (!start || !length || !target || !depth_lasti) break;
        if (uint64_t{*start} + *length > UINT32_MAX) break;
        ExceptionTableEntry e{*start, *start + *length, *target, *depth_lasti >> 1, (*depth_lasti & 1) != 0};
        if (!entries.empty() && e.start < entries.back().end) break;
        entries.push_back(e);
    }
    return entries;
}

std::optional<ExceptionTableEntry> handler_for(std::span<const ExceptionTableEntry> table, uint32_t unit) {
    auto it = std::upper_bound(table.begin(), table.end(), unit,
                               [](uint32_t u, const ExceptionTableEntry& e) { return u < e.start; });
    if (it == table.begin()) return std::nullopt;
    --it;
    if (unit >= it->start && unit < it->end) return *it;
    return std::nullopt;
}

}  // namespace stackscope
