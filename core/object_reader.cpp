#include "object_reader.hpp"

#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "hex.hpp"

namespace stackscope {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x110000) {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += "\xef\xbf\xbd";  // U+FFFD
    }
}

constexpr size_t kMaxTypeName = 256;
constexpr uint64_t kMaxDictEntries = 1 << 20;

}  // namespace

uint64_t ObjectReader::type_of(uint64_t object) {
    if (object == 0 || object % 8 != 0) throw bad_data("invalid object pointer " + hex(object));
    const uint64_t type = memory_.read_pointer(object + layout_.object_type);
    if (type == 0 || type % 8 != 0) throw bad_data("object at " + hex(object) + " has an invalid type pointer");
    return type;
}

const std::string& ObjectReader::type_name(uint64_t object) {
    const uint64_t type = type_of(object);
    auto it = type_names_.find(type);
    if (it != type_names_.end()) return it->second;
    const uint64_t name_ptr = memory_.read_pointer(type + layout_.type_name);
    char buf[kMaxTypeName];
    const size_t got = memory_.read_some(name_ptr, std::span(reinterpret_cast<uint8_t*>(buf), sizeof buf));
    const size_t len = strnlen(buf, got);
    if (len == got) throw bad_data("unreadable type name at " + hex(name_ptr));
    return type_names_.emplace(type, std::string(buf, len)).first->second;
}

bool ObjectReader::is_instance_of(uint64_t object, std::string_view name) { return type_name(object) == name; }

std::string ObjectReader::read_str(uint64_t object, size_t max_chars) {
    if (!is_instance_of(object, "str")) throw bad_data("object at " + hex(object) + " is not a str");
    const auto length = memory_.read_value<int64_t>(object + layout_.unicode_length);
    const auto state = memory_.read_value<uint32_t>(object + layout_.unicode_state);
    if (length < 0) throw bad_data("str at " + hex(object) + " has a negative length");
    const unsigned kind = (state >> 2) & 7;
    const bool compact = state & 0x20;
    const bool ascii = state & 0x40;
    if (kind != 1 && kind != 2 && kind != 4) throw bad_data("str at " + hex(object) + " has an invalid kind");
    uint64_t data = 0;
    if (compact && ascii) data = object + layout_.unicode_ascii_data;
    else if (compact) data = object + layout_.unicode_compact_data;
    else data = memory_.read_pointer(object + layout_.unicode_compact_data);
    const size_t count = std::min<size_t>(static_cast<size_t>(length), max_chars);
    const std::vector<uint8_t> raw = memory_.read_bytes(data, count * kind);
    std::string out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        uint32_t cp = 0;
        if (kind == 1) cp = raw[i];
        else if (kind == 2) cp = raw[2 * i] | (raw[2 * i + 1] << 8);
        else cp = raw[4 * i] | (raw[4 * i + 1] << 8) | (raw[4 * i + 2] << 16) | (uint32_t(raw[4 * i + 3]) << 24);
        append_utf8(out, cp);
    }
    if (count < static_cast<size_t>(length)) out += "...";
    return out;
}

std::vector<uint8_t> ObjectReader::read_bytes(uint64_t object, size_t max_size) {
    if (!is_instance_of(object, "bytes")) throw bad_data("object at " + hex(object) + " is not bytes");
    const auto size = memory_.read_value<int64_t>(object + layout_.bytes_size);
    if (size < 0 || static_cast<uint64_t>(size) > max_size) throw bad_data("bytes at " + hex(object) + " has an implausible size");
    return memory_.read_bytes(object + layout_.bytes_data, static_cast<size_t>(size));
}

std::optional<uint64_t> ObjectReader::dict_get(uint64_t dict, std::string_view key) {
    if (!is_instance_of(dict, "dict")) throw bad_data("object at " + hex(dict) + " is not a dict");
    const uint64_t keys = memory_.read_pointer(dict + layout_.dict_keys_ptr);
    const uint64_t values = memory_.read_pointer(dict + layout_.dict_values_ptr);
    if (keys == 0) throw bad_data("dict at " + hex(dict) + " has no keys");

    uint64_t entries = 0, nentries = 0, entry_size = 0, key_offset = 0, value_offset = 0;
    if (layout_.dict_keys == DictKeysFormat::Kinds311) {
        uint8_t raw[32];
        memory_.read(keys, raw);
        const uint8_t log2_size = raw[8], log2_index_bytes = raw[9], kind = raw[10];
        if (log2_size > 30 || log2_index_bytes > 34 || kind > 2) throw bad_data("dict keys at " + hex(keys) + " are corrupt");
        std::memcpy(&nentries, raw + 24, 8);
        entries = keys + 32 + (uint64_t{1} << log2_index_bytes);
        if (kind == 0) { entry_size = 24; key_offset = 8; value_offset = 16; }
        else { entry_size = 16; key_offset = 0; value_offset = 8; }
    } else {
        uint8_t raw[40];
        memory_.read(keys, raw);
        int64_t size = 0;
        std::memcpy(&size, raw + 8, 8);
        std::memcpy(&nentries, raw + 32, 8);
        if (size <= 0 || size > (int64_t{1} << 30)) throw bad_data("dict keys at " + hex(keys) + " are corrupt");
        const uint64_t width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffll ? 4 : 8;
        entries = keys + 40 + static_cast<uint64_t>(size) * width;
        entry_size = 24; key_offset = 8; value_offset = 16;
    }
    if (nentries > kMaxDictEntries) throw bad_data("dict at " + hex(dict) + " has an implausible size");
    uint64_t values_base = 0;
    if (values) values_base = values + (layout_.dict_values == DictValuesFormat::PrefixedArray ? 8 : 0);

    const std::vector<uint8_t> table = memory_.read_bytes(entries, static_cast<size_t>(nentries * entry_size));
    const std::string wanted(key);
    const auto interned = interned_keys_.find(wanted);
    // Identifier keys are interned: compare pointers first, strings only when needed.
    std::optional<size_t> found;
    std::vector<uint64_t> key_pointers(nentries);
    for (uint64_t i = 0; i < nentries; ++i) {
        std::memcpy(&key_pointers[i], table.data() + i * entry_size + key_offset, 8);
        if (interned != interned_keys_.end() && key_pointers[i] == interned->second) {
            found = i;
            break;
        }
    }
    if (!found) {
        for (uint64_t i = 0; i < nentries && !found; ++i) {
            if (key_pointers[i] == 0) continue;
            try {
                if (read_str(key_pointers[i], wanted.size() + 1) == wanted) {
                    found = i;
                    interned_keys_[wanted] = key_pointers[i];
                }
            } catch (const Error&) {
                // not a str key
            }
        }
    }
    if (!found) return std::nullopt;
    uint64_t value = 0;
    if (values_base) value = memory_.read_pointer(values_base + 8 * *found);
    else std::memcpy(&value, table.data() + *found * entry_size + value_offset, 8);
    if (value == 0) return std::nullopt;
    return value;
}

}  // namespace stackscope
