#include "cpython/deque_reader.hpp"

#include <cstring>
#include <string>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

bool is_deque(ObjectReader& objects, uint64_t object) {
    const uint64_t type = objects.type_of(object);
    if (const auto deque_class = objects.module_global("collections", "deque")) return type == *deque_class;
    return objects.static_type_name(type) == std::optional<std::string>("collections.deque");
}

std::vector<uint64_t> read_deque(ObjectReader& objects, uint64_t deque, size_t max_items) {
    if (!is_deque(objects, deque)) throw bad_data("the object at " + hex(deque) + " is not a deque", deque);
    RemoteMemory& mem = objects.memory();
    const PythonLayout& l = objects.layout();
    const auto length = mem.read_value<int64_t>(deque + static_cast<uint64_t>(l.var_size));
    if (length < 0 || static_cast<uint64_t>(length) > max_items)
        throw bad_data("the deque at " + hex(deque) + " claims " + std::to_string(length) + " items (at most " +
                           std::to_string(max_items) + " are read)",
                       deque);
    const auto block_length = static_cast<uint64_t>(l.deque_block_length);
    const auto left_index = mem.read_value<int64_t>(deque + static_cast<uint64_t>(l.deque_left_index));
    const auto right_index = mem.read_value<int64_t>(deque + static_cast<uint64_t>(l.deque_right_index));
    const uint64_t right_block = mem.read_pointer(deque + static_cast<uint64_t>(l.deque_right_block));
    uint64_t block = mem.read_pointer(deque + static_cast<uint64_t>(l.deque_left_block));
    // An empty deque has left index = right index + 1 (both in the middle of its one block).
    if (left_index < 0 || static_cast<uint64_t>(left_index) >= block_length || right_index < -1 ||
        right_index >= static_cast<int64_t>(block_length))
        throw bad_data("the deque at " + hex(deque) + " has indexes out of its blocks", deque);

    std::vector<uint64_t> items;
    items.reserve(static_cast<size_t>(length));
    auto index = static_cast<uint64_t>(left_index);
    std::vector<uint8_t> data;
    for (int64_t i = 0; i < length; ++i) {
        if (index == block_length) {
            block = mem.read_pointer(block + static_cast<uint64_t>(l.deque_block_right_link));
            index = 0;
            data.clear();
        }
        if (!block) throw bad_data("the deque at " + hex(deque) + " ends before its length", deque);
        if (data.empty()) data = mem.read_bytes(block + static_cast<uint64_t>(l.deque_block_items), block_length * 8);
        uint64_t item = 0;
        std::memcpy(&item, data.data() + index * 8, 8);
        items.push_back(item);
        ++index;
    }
    // The walk must end where the deque says its last item is (a damaged link goes elsewhere).
    if (length > 0 && (block != right_block || index != static_cast<uint64_t>(right_index) + 1))
        throw bad_data("the deque at " + hex(deque) + " does not end where its blocks say", deque);
    return items;
}

}  // namespace stackscope
