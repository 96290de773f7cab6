#include "cpython/exception_table.hpp"

#include <algorithm>

#include "stackscope/error.hpp"

namespace stackscope {

namespace {

// Big-endian varint of 6-bit chunks, 0x40 meaning more follow (Objects/exception_handling_notes.txt).
uint32_t read_varint(std::span<const uint8_t> table, size_t& at) {
    uint64_t value = 0;
    for (int chunk = 0; chunk < 6; ++chunk) {
        if (at >= table.size()) throw bad_data("exception table ends inside an entry");
        const uint8_t byte = table[at++];
        value = (value << 6) | (byte & 63);
        if (!(byte & 64)) {
            if (value > UINT32_MAX) throw bad_data("exception table value out of range");
            return static_cast<uint32_t>(value);
        }
    }
    throw bad_data("exception table varint too long");
}

}  // namespace

std::vector<ExceptionEntry> decode_exception_table(std::span<const uint8_t> table, size_t max_entries) {
    std::vector<ExceptionEntry> out;
    size_t at = 0;
    while (at < table.size()) {
        if (!(table[at] & 0x80)) throw bad_data("exception table entry without its start bit");
        if (out.size() == max_entries)
            throw bad_data("exception table of more than " + std::to_string(max_entries) + " entries");
        ExceptionEntry e;
        e.start = read_varint(table, at);
        const uint32_t length = read_varint(table, at);
        e.end = e.start + length;
        if (e.end < e.start) throw bad_data("exception table range overflows");
        e.target = read_varint(table, at);
        const uint32_t depth_lasti = read_varint(table, at);
        e.depth = depth_lasti >> 1;
        e.lasti = depth_lasti & 1;
        if (!out.empty() && e.start < out.back().end) throw bad_data("exception table entries out of order");
        out.push_back(e);
    }
    return out;
}

std::optional<ExceptionEntry> handler_for(std::span<const ExceptionEntry> table, uint32_t unit) {
    auto it = std::upper_bound(table.begin(), table.end(), unit,
                               [](uint32_t u, const ExceptionEntry& e) { return u < e.start; });
    if (it == table.begin()) return std::nullopt;
    --it;
    if (unit >= it->start && unit < it->end) return *it;
    return std::nullopt;
}

}  // namespace stackscope
