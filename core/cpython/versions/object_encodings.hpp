#pragma once
// How CPython encodes the objects the reader decodes, per format (the formats are the
// behaviour enums of python_layout.hpp): the fixed offsets inside dict keys objects, the
// bits of a str's state word, an int's digits and sign. One place for every such number;
// measured on 3.8-3.15 (shared/reference/cpython-internals.md, section 6).
#include <cstdint>

namespace stackscope::encoding {

// PyDictKeysObject, DictKeysFormat::Kinds311 (3.11+).
struct DictKeys311 {
    static constexpr uint64_t log2_size = 8;         // uint8_t dk_log2_size
    static constexpr uint64_t log2_index_bytes = 9;  // uint8_t dk_log2_index_bytes
    static constexpr uint64_t kind = 10;             // uint8_t dk_kind: 0 general, 1 unicode, 2 split
    static constexpr uint64_t nentries = 24;         // Py_ssize_t dk_nentries
    static constexpr uint64_t indices = 32;          // dk_indices[]: 1 << log2_index_bytes bytes
    static constexpr uint64_t header_size = 32;
    static constexpr uint8_t kind_general = 0;
    static constexpr uint8_t max_kind = 2;
    static constexpr uint8_t max_log2_size = 30;
    // PyDictKeyEntry {hash, key, value} for general keys, PyDictUnicodeEntry {key, value} otherwise.
    static constexpr uint64_t general_entry_size = 24, general_key = 8, general_value = 16;
    static constexpr uint64_t unicode_entry_size = 16, unicode_key = 0, unicode_value = 8;
};

// PyDictKeysObject, DictKeysFormat::Split310 (3.8-3.10).
struct DictKeys310 {
    static constexpr uint64_t size = 8;       // Py_ssize_t dk_size
    static constexpr uint64_t nentries = 32;  // Py_ssize_t dk_nentries
    static constexpr uint64_t indices = 40;   // dk_indices[]: dk_size entries of 1, 2, 4 or 8 bytes
    static constexpr uint64_t header_size = 40;
    static constexpr uint64_t entry_size = 24, key = 8, value = 16;  // PyDictKeyEntry {hash, key, value}
};

// A dict's split values: PlainArray has none, PrefixedArray an 8-byte header (3.13+).
inline constexpr uint64_t kPrefixedValuesHeader = 8;
// _PyDictValues.valid (3.13+ inline values): 0 when the values moved to a dict.
inline constexpr uint64_t kInlineValuesValidByte = 3;

// PyASCIIObject.state bits that every version 3.8-3.15 places alike.
struct StrState {
    static constexpr unsigned kind_shift = 2;
    static constexpr uint32_t kind_mask = 7;  // 1, 2 or 4 bytes per character
    static constexpr uint32_t compact = 0x20;
    static constexpr uint32_t ascii = 0x40;
};

// PyLongObject digits: 30 bits each in 32-bit words.
struct LongDigits {
    static constexpr unsigned shift = 30;  // PyLong_SHIFT
    static constexpr uint64_t digit_size = 4;
    // IntFormat::LvTag: lv_tag = digit count << 3 | sign (0 positive, 1 zero, 2 negative).
    static constexpr unsigned tag_count_shift = 3;
    static constexpr uint64_t tag_sign_mask = 3;
    static constexpr uint64_t tag_negative = 2;
};

}  // namespace stackscope::encoding
