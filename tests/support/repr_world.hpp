#pragma once
// A 3.11+ target (3.12 unless told) holding the builtin types the bounded repr dispatches on, with builders for
// their objects: the unit tests of the repr and the object_repr fuzz target's seed image use it.
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cpython/builtin_types.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/object_repr.hpp"
#include "cpython/python_layout.hpp"
#include "synthetic_memory.hpp"
#include "target/remote_memory.hpp"

namespace stackscope_test {

using namespace stackscope;

// A 3.12 target with the builtin types the repr dispatches on, and builders for their objects.
struct ReprWorld {
    stackscope::PythonLayout layout;
    SyntheticTarget target;
    ObjectBuilder b{target, layout};
    stackscope::BuiltinTypes types;
    uint64_t none = 0;

    explicit ReprWorld(int minor = 12) : layout(*layout_for(3, minor)) {
        for (const BuiltinType t : {BuiltinType::NoneType, BuiltinType::Bool, BuiltinType::Int, BuiltinType::Float,
                                    BuiltinType::Str, BuiltinType::Bytes, BuiltinType::Tuple, BuiltinType::List,
                                    BuiltinType::Dict, BuiltinType::Set, BuiltinType::FrozenSet, BuiltinType::Type}) {
            types.set(t, b.type(builtin_type_name(t)));
        }
        target.put<uint64_t>(type(BuiltinType::Type) + layout.type_flags, layout.type_flag_type_subclass);
        none = object(BuiltinType::NoneType, 16);
    }

    uint64_t type(BuiltinType t) const {
        for (uint64_t a = 0x10000000; a < 0x20000000; a += 0x1000) {
            if (types.match(a, t) == TypeMatch::Yes) return a;
        }
        return 0;
    }
    uint64_t object(BuiltinType t, size_t size) {
        const uint64_t at = b.alloc(size);
        target.put_u64(at, 1);
        target.put_u64(at + layout.object_type, type(t));
        return at;
    }
    // A compact str of `kind` bytes per character (an ASCII one when kind 1 and all below 0x80).
    uint64_t str(std::u32string_view text, unsigned kind = 0) {
        uint32_t max = 0;
        for (const char32_t c : text) max = std::max<uint32_t>(max, static_cast<uint32_t>(c));
        if (!kind) kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
        const bool ascii = kind == 1 && max < 0x80;
        const uint64_t data = static_cast<uint64_t>(ascii ? layout.unicode_ascii_data : layout.unicode_compact_data);
        const uint64_t at = object(BuiltinType::Str, data + (text.size() + 1) * kind);
        target.put<int64_t>(at + layout.unicode_length, static_cast<int64_t>(text.size()));
        target.put<uint32_t>(at + layout.unicode_state, 0x20 | (ascii ? 0x40 : 0) | (kind << 2));
        for (size_t i = 0; i < text.size(); ++i) {
            const auto cp = static_cast<uint32_t>(text[i]);
            uint8_t raw[4];
            std::memcpy(raw, &cp, 4);
            target.write(at + data + i * kind, std::span<const uint8_t>(raw, kind));
        }
        return at;
    }
    uint64_t integer(int64_t value) {
        const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
        std::vector<uint32_t> digits;
        for (uint64_t m = magnitude; m; m >>= 30) digits.push_back(static_cast<uint32_t>(m & 0x3fffffff));
        return big_int(digits, value < 0);
    }
    uint64_t big_int(const std::vector<uint32_t>& digits, bool negative = false) {
        const uint64_t at = object(BuiltinType::Int, static_cast<size_t>(layout.long_digits) + 4 * digits.size() + 4);
        if (layout.int_format == IntFormat::LvTag) {
            const uint64_t sign = digits.empty() ? 1 : negative ? 2 : 0;
            target.put<uint64_t>(at + layout.var_size, digits.size() << 3 | sign);
        } else {
            const auto size = static_cast<int64_t>(digits.size());
            target.put<int64_t>(at + layout.var_size, negative ? -size : size);
        }
        for (size_t i = 0; i < digits.size(); ++i) target.put<uint32_t>(at + layout.long_digits + 4 * i, digits[i]);
        return at;
    }
    uint64_t floating(double value) {
        const uint64_t at = object(BuiltinType::Float, 24);
        target.put<double>(at + layout.float_value, value);
        return at;
    }
    uint64_t tuple(const std::vector<uint64_t>& items) {
        const uint64_t at = object(BuiltinType::Tuple, static_cast<size_t>(layout.tuple_items) + 8 * items.size() + 8);
        target.put<int64_t>(at + layout.var_size, static_cast<int64_t>(items.size()));
        for (size_t i = 0; i < items.size(); ++i) target.put_u64(at + layout.tuple_items + 8 * i, items[i]);
        return at;
    }
    uint64_t list(const std::vector<uint64_t>& items) {
        const uint64_t array = b.alloc(8 * items.size() + 8);
        for (size_t i = 0; i < items.size(); ++i) target.put_u64(array + 8 * i, items[i]);
        const uint64_t at = object(BuiltinType::List, 48);
        target.put<int64_t>(at + layout.var_size, static_cast<int64_t>(items.size()));
        target.put_u64(at + layout.list_items, array);
        return at;
    }
    uint64_t dict(const std::vector<std::pair<uint64_t, uint64_t>>& items) {
        const uint64_t at = b.dict(type(BuiltinType::Dict), items);
        target.put<int64_t>(at + layout.dict_used, static_cast<int64_t>(items.size()));
        return at;
    }
    // A set whose table (8 slots) holds `items` at the front, and a dummy entry after them.
    uint64_t set(const std::vector<uint64_t>& items, BuiltinType kind = BuiltinType::Set) {
        const uint64_t table = b.alloc(16 * 8);
        for (size_t i = 0; i < items.size(); ++i) {
            target.put_u64(table + 16 * i, items[i]);
            target.put<int64_t>(table + 16 * i + 8, static_cast<int64_t>(i) + 7);
        }
        if (items.size() < 8) {
            target.put_u64(table + 16 * items.size(), none);  // a deleted entry: hash -1
            target.put<int64_t>(table + 16 * items.size() + 8, -1);
        }
        const uint64_t at = object(kind, 200);
        target.put<int64_t>(at + layout.set_used, static_cast<int64_t>(items.size()));
        target.put<int64_t>(at + layout.set_mask, 7);
        target.put_u64(at + layout.set_table, table);
        return at;
    }

    std::string repr(uint64_t object) {
        RemoteMemory memory(target);
        ObjectReader objects(memory, layout, types);
        FrameReader frames(objects);
        AsyncioFutures futures(objects);
        return ObjectRepr(objects, frames, futures).repr(object);
    }
};

}  // namespace stackscope_test
