#pragma once
// The items of a collections.deque (an ExitStack's _exit_callbacks), read from its blocks with
// every pointer, index and length untrusted.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpython/object_reader.hpp"

namespace stackscope {

// Whether `object` is a collections.deque: by identity with sys.modules['collections'].deque,
// else (no modules dict: a synthetic or damaged image) by its tp_name.
bool is_deque(ObjectReader& objects, uint64_t object);

// The items, leftmost first. Throws bad_data when `deque` is not a deque, holds more than
// `max_items`, or its blocks do not lead from the left index to the right one in `length` items.
std::vector<uint64_t> read_deque(ObjectReader& objects, uint64_t deque, size_t max_items);

}  // namespace stackscope
