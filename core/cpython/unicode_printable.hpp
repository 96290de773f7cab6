#pragma once
// Which code points str.__repr__ prints as they are: Py_UNICODE_ISPRINTABLE of each Unicode
// database a supported CPython uses (generated: versions/unicode_printable.cpp).
#include <algorithm>
#include <cstdint>
#include <span>

#include "cpython/python_layout.hpp"

namespace stackscope {

struct CodepointRange {
    uint32_t first = 0, last = 0;  // inclusive
};

// The printable code points of a database, as sorted disjoint ranges.
std::span<const CodepointRange> printable_ranges(UnicodeDatabase database);

inline bool is_printable(std::span<const CodepointRange> ranges, uint32_t cp) {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                                     [](uint32_t value, const CodepointRange& r) { return value < r.first; });
    return it != ranges.begin() && cp <= std::prev(it)->last;
}

}  // namespace stackscope
