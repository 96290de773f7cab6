#pragma once
// Which objects are functools.partial objects (or of a subclass): asyncio's callbacks are often
// partials (a Future's repr shows their arguments; wait_for's callback holds its waiter in one).
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "cpython/object_reader.hpp"

namespace stackscope {

class PartialTypes {
public:
    explicit PartialTypes(ObjectReader& objects) : objects_(objects) {}

    // Whether `object` is a partial. False where the target has no functools.partial.
    bool is_partial(uint64_t object);

private:
    ObjectReader& objects_;
    std::optional<uint64_t> partial_class_;       // functools.partial; 0 when absent
    std::unordered_map<uint64_t, bool> by_type_;  // whether each type met is partial's
};

}  // namespace stackscope
