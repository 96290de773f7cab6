#include "cpython/object_reader.hpp"

#include <algorithm>
#include <cstring>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"
#include "cpython/versions/object_encodings.hpp"

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
// Dict entries read by one reader in all: many objects could share one huge dict, each lookup
// reading it whole again.
constexpr uint64_t kMaxDictEntriesInAll = uint64_t{1} << 26;
// Set slots scanned by one reader in all: a hostile target can give each of thousands of tasks
// a set of its own with the largest table allowed.
constexpr uint64_t kMaxSetSlotsInAll = uint64_t{1} << 26;

}  // namespace

void ObjectReader::throw_invalid_object(uint64_t object) { throw bad_data("invalid object pointer " + hex(object)); }

void ObjectReader::throw_invalid_type(uint64_t object) {
    throw bad_data("object at " + hex(object) + " has an invalid type pointer");
}

std::string ObjectReader::read_tp_name(uint64_t type) {
    return read_c_string(memory_.read_pointer(type + layout_.type_name), kMaxTypeName);
}

std::string ObjectReader::read_c_string(uint64_t address, size_t max) {
    char small[kMaxTypeName];
    std::vector<char> large(max > sizeof small ? max : 0);
    char* buf = large.empty() ? small : large.data();
    const size_t size = large.empty() ? std::min(max, sizeof small) : max;
    const size_t got = memory_.read_some(address, std::span(reinterpret_cast<uint8_t*>(buf), size));
    const size_t len = strnlen(buf, got);
    if (len == got) throw unreadable(address, "unreadable C string at " + hex(address));
    return std::string(buf, len);
}

bool ObjectReader::is_instance_or_named(uint64_t object, BuiltinType type, std::string_view tp_name) {
    switch (match(object, type)) {
        case TypeMatch::Yes: return true;
        case TypeMatch::No: return false;
        case TypeMatch::Unknown: return static_type_name(type_of(object)) == tp_name;
    }
    return false;
}

// A subclass's instances start with their builtin base's layout (class Config(dict), an
// OrderedDict): what is read of the builtin is there.
bool ObjectReader::is_builtin_subclass(uint64_t type, BuiltinType base) {
    const uint64_t key = type * 64 + static_cast<uint64_t>(base);  // user-space addresses are below 2^57
    if (const auto it = builtin_subclasses_.find(key); it != builtin_subclasses_.end()) return it->second;
    // "No" until known: a hostile MRO that is no tuple asks this again while it is read.
    builtin_subclasses_.emplace(key, false);
    constexpr int64_t kMaxMro = 64;
    bool found = false;
    try {
        const uint64_t mro = memory_.read_pointer(type + layout_.type_mro);
        const auto size = mro ? memory_.read_value<int64_t>(mro + layout_.var_size) : 0;
        for (int64_t i = 1; i < std::min(size, kMaxMro) && !found; ++i)
            found = types_.match(tuple_item(mro, static_cast<uint64_t>(i)), base) == TypeMatch::Yes;
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
    }
    builtin_subclasses_[key] = found;
    return found;
}

bool ObjectReader::is_builtin_function(uint64_t object) {
    if (is_instance_or_named(object, BuiltinType::BuiltinMethod, "builtin_function_or_method")) return true;
    const auto& name = static_type_name(type_of(object));
    return name && *name == "builtin_method";
}

void ObjectReader::require_unless_unknown(uint64_t object, BuiltinType type) {
    if (match(object, type) == TypeMatch::No && !is_builtin_subclass(type_of(object), type))
        throw bad_data("object at " + hex(object) + " is not of type " + std::string(builtin_type_name(type)), object);
}

void ObjectReader::require(uint64_t object, BuiltinType type) {
    switch (match(object, type)) {
        case TypeMatch::Yes: return;
        case TypeMatch::No:
            if (is_builtin_subclass(type_of(object), type)) return;
            throw bad_data("object at " + hex(object) + " is not of type " + std::string(builtin_type_name(type)),
                           object);
        case TypeMatch::Unknown:
            throw Error(ErrorKind::UnsupportedRuntime, "cannot tell " + std::string(builtin_type_name(type)) +
                                                           " objects in this process: the type was not found");
    }
}

std::string ObjectReader::read_str(uint64_t object, size_t max_chars) {
    return read_str_keeping(object, max_chars, true);
}

std::string ObjectReader::read_unshared_str(uint64_t object, size_t max_chars) {
    return read_str_keeping(object, max_chars, false);
}

std::string ObjectReader::read_str_keeping(uint64_t object, size_t max_chars, bool keep) {
    // The same names (a coroutine's qualname, a function's) are asked for by many objects.
    if (keep) {
        if (const ReadStr* known = strs_.find(object); known && known->length <= max_chars) return known->text;
    }
    require(object, BuiltinType::Str);
    const auto length = memory_.read_value<int64_t>(object + layout_.unicode_length);
    const auto state = memory_.read_value<uint32_t>(object + layout_.unicode_state);
    if (length < 0) throw bad_data("str at " + hex(object) + " has a negative length");
    using encoding::StrState;
    const unsigned kind = (state >> StrState::kind_shift) & StrState::kind_mask;
    const bool compact = state & StrState::compact;
    const bool ascii = state & StrState::ascii;
    if (kind != 1 && kind != 2 && kind != 4) throw bad_data("str at " + hex(object) + " has an invalid kind");
    uint64_t data = 0;
    if (compact && ascii) data = object + layout_.unicode_ascii_data;
    else if (compact) data = object + layout_.unicode_compact_data;
    else data = memory_.read_pointer(object + layout_.unicode_compact_data);
    const size_t count = std::min<size_t>(static_cast<size_t>(length), max_chars);
    if (keep && count == static_cast<size_t>(length) && count <= kMaxCachedStr) {
        std::string text = read_str_chars(data, kind, ascii, count);
        return strs_.insert(object, ReadStr{std::move(text), count}).text;
    }
    std::string out = read_str_chars(data, kind, ascii, count);
    if (count < static_cast<size_t>(length)) out += "...";
    return out;
}

std::string ObjectReader::read_str_chars(uint64_t data, unsigned kind, bool ascii, size_t count) {
    if (ascii && count <= RemoteMemory::kPageSize) {
        std::string out(count, '\0');
        memory_.read(data, std::span(reinterpret_cast<uint8_t*>(out.data()), count));
        // A corrupt str may claim to be ASCII: its other bytes are decoded one by one below.
        if (std::all_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
            return out;
    }
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
    return out;
}

std::vector<uint8_t> ObjectReader::read_bytes(uint64_t object, size_t max_size) {
    require(object, BuiltinType::Bytes);
    const auto size = memory_.read_value<int64_t>(object + layout_.bytes_size);
    if (size < 0 || static_cast<uint64_t>(size) > max_size)
        throw bad_data("bytes at " + hex(object) + " has an implausible size");
    return memory_.read_bytes(object + layout_.bytes_data, static_cast<size_t>(size));
}

uint64_t ObjectReader::tuple_item(uint64_t tuple, uint64_t index) {
    require(tuple, BuiltinType::Tuple);
    const auto size = memory_.read_value<int64_t>(tuple + layout_.var_size);
    if (size < 0 || index >= static_cast<uint64_t>(size))
        throw bad_data("tuple at " + hex(tuple) + " has no item " + std::to_string(index));
    return memory_.read_pointer(tuple + layout_.tuple_items + 8 * index);
}

bool ObjectReader::is_class(uint64_t object) { return is_class_type(type_of(object)); }

bool ObjectReader::is_class_type(uint64_t type) {
    return (memory_.read_value<uint64_t>(type + layout_.type_flags) & layout_.type_flag_type_subclass) != 0;
}

const std::string& ObjectReader::class_name(uint64_t type) {
    if (auto it = class_names_.find(type); it != class_names_.end()) return it->second;
    std::string name;
    const auto flags = memory_.read_value<uint64_t>(type + layout_.type_flags);
    if (flags & layout_.type_flag_heap_type) {
        name = read_str(memory_.read_pointer(type + layout_.heap_type_qualname), 1024);
    } else {
        try {
            name = read_tp_name(type);
            if (const size_t dot = name.rfind('.'); dot != std::string::npos) name.erase(0, dot + 1);
        } catch (const Error&) {
            const std::string* known = static_type_name_from_builtins(type);
            name = known ? *known : builtin_name_by_identity(type).value_or("<type at " + hex(type) + ">");
        }
    }
    return class_names_.emplace(type, std::move(name)).first->second;
}

// A builtin type learned by its address (a symbol, or type_anchors) is named by the table.
std::optional<std::string> ObjectReader::builtin_name_by_identity(uint64_t type) const {
    for (size_t i = 0; i < kBuiltinTypeCount; ++i) {
        const auto builtin = static_cast<BuiltinType>(i);
        if (types_.match(type, builtin) == TypeMatch::Yes) return std::string(builtin_type_name(builtin));
    }
    return std::nullopt;
}

// The builtins module names its classes and exceptions, with str keys that live in writable
// memory: a core that lacks the binary's .rodata (and so every tp_name) still has them. The
// types module names the interpreter's other static types, under names of its own.
const std::string* ObjectReader::static_type_name_from_builtins(uint64_t type) {
    // types' name for a class, and the class's tp_name.
    static constexpr std::pair<std::string_view, std::string_view> kTypesModuleNames[] = {
        {"FunctionType", "function"},
        {"MethodType", "method"},
        {"BuiltinFunctionType", "builtin_function_or_method"},
        {"MethodWrapperType", "method-wrapper"},
        {"CodeType", "code"},
        {"CellType", "cell"},
        {"ModuleType", "module"},
        {"GeneratorType", "generator"},
        {"CoroutineType", "coroutine"},
        {"AsyncGeneratorType", "async_generator"},
    };
    if (!static_type_names_loaded_ && modules_dict_) {
        static_type_names_loaded_ = true;
        try {
            if (const auto builtins = dict_get(modules_dict_, "builtins")) {
                for (const DictEntry& e : dict_items(memory_.read_pointer(*builtins + layout_.module_dict))) {
                    try {
                        if (is_class(e.value)) static_type_names_.emplace(e.value, read_str(e.key, kMaxTypeName));
                    } catch (const Error&) {
                        // not a class, or an unreadable one: no name from it
                    }
                }
            }
            for (const auto& [alias, tp_name] : kTypesModuleNames) {
                try {
                    const auto cls = module_global("types", alias);
                    if (cls && is_class(*cls)) static_type_names_.emplace(*cls, std::string(tp_name));
                } catch (const Error&) {
                    // not there in this version, or unreadable: no name from it
                }
            }
        } catch (const Error&) {
            // no names from an unreadable dict
        }
    }
    auto it = static_type_names_.find(type);
    return it == static_type_names_.end() ? nullptr : &it->second;
}

const std::optional<std::string>& ObjectReader::static_type_name(uint64_t type) {
    if (auto it = tp_names_.find(type); it != tp_names_.end()) return it->second;
    std::optional<std::string> name;
    try {
        name = read_tp_name(type);
    } catch (const Error&) {
        // tp_name is in the binary's .rodata, which a core without its files lacks
        if (const std::string* known = static_type_name_from_builtins(type)) name = *known;
    }
    return tp_names_.emplace(type, std::move(name)).first->second;
}

std::string ObjectReader::type_name(uint64_t type) {
    if (auto it = type_names_.find(type); it != type_names_.end()) return it->second;
    std::string name = memory_.read_value<uint64_t>(type + layout_.type_flags) & layout_.type_flag_heap_type
                           ? read_str(memory_.read_pointer(type + layout_.heap_type_name), 1024)
                           : class_name(type);
    return type_names_.emplace(type, std::move(name)).first->second;
}

bool ObjectReader::is_subclass(uint64_t type, uint64_t base) {
    if (type == base) return true;
    constexpr uint64_t kMaxMro = 256;
    const uint64_t mro = memory_.read_pointer(type + layout_.type_mro);
    if (!mro) return false;
    const auto size = memory_.read_value<int64_t>(mro + layout_.var_size);
    for (uint64_t i = 0; size > 0 && i < std::min<uint64_t>(static_cast<uint64_t>(size), kMaxMro); ++i) {
        if (tuple_item(mro, i) == base) return true;
    }
    return false;
}

std::optional<uint64_t> ObjectReader::attribute_or_class_default(uint64_t object, std::string_view name) {
    if (auto value = attribute(object, name)) return value;
    constexpr uint64_t kMaxMro = 256;
    const uint64_t mro = memory_.read_pointer(type_of(object) + layout_.type_mro);
    if (!mro) return std::nullopt;
    const auto size = memory_.read_value<int64_t>(mro + layout_.var_size);
    for (uint64_t i = 0; size > 0 && i < std::min<uint64_t>(static_cast<uint64_t>(size), kMaxMro); ++i) {
        const uint64_t dict = memory_.read_pointer(tuple_item(mro, i) + layout_.type_dict);
        if (!dict) continue;
        if (auto value = dict_get(dict, name)) return value;
    }
    return std::nullopt;
}

std::string ObjectReader::repr_name(uint64_t type) {
    if (auto it = repr_names_.find(type); it != repr_names_.end()) return it->second;
    std::string name = read_repr_name(type);
    return repr_names_.emplace(type, std::move(name)).first->second;
}

std::string ObjectReader::read_repr_name(uint64_t type) {
    const auto flags = memory_.read_value<uint64_t>(type + layout_.type_flags);
    if (!(flags & layout_.type_flag_heap_type)) {
        try {
            return read_tp_name(type);
        } catch (const Error&) {
            return class_name(type);
        }
    }
    std::string module;
    try {
        if (const uint64_t dict = memory_.read_pointer(type + layout_.type_dict)) {
            if (const auto value = dict_get(dict, "__module__")) module = read_str(*value, 1024);
        }
    } catch (const Error&) {
        // shown without its module
    }
    const std::string& name = class_name(type);
    return module.empty() || module == "builtins" ? name : module + "." + name;
}

std::string ObjectReader::default_repr(uint64_t object) {
    return "<" + repr_name(type_of(object)) + " object at " + hex(object) + ">";
}

std::optional<uint64_t> ObjectReader::module_global(std::string_view module, std::string_view name) {
    if (!modules_dict_) return std::nullopt;
    const auto found = dict_get(modules_dict_, module);
    if (!found) return std::nullopt;
    const uint64_t dict = memory_.read_pointer(*found + layout_.module_dict);
    return dict ? dict_get(dict, name) : std::nullopt;
}

int64_t ObjectReader::read_int(uint64_t object) {
    if (!is_instance_or_named(object, BuiltinType::Bool, "bool")) require(object, BuiltinType::Int);
    uint64_t digit_count = 0;
    bool negative = false;
    using encoding::LongDigits;
    if (layout_.int_format == IntFormat::LvTag) {
        const auto tag = memory_.read_value<uint64_t>(object + layout_.var_size);
        digit_count = tag >> LongDigits::tag_count_shift;
        negative = (tag & LongDigits::tag_sign_mask) == LongDigits::tag_negative;
    } else {
        const auto size = memory_.read_value<int64_t>(object + layout_.var_size);
        negative = size < 0;
        digit_count = negative ? 0 - static_cast<uint64_t>(size) : static_cast<uint64_t>(size);
    }
    // 30-bit digits: three of them hold 63 bits when the top one is below 2^3.
    static_assert(LongDigits::shift == 30);
    if (digit_count > 3) throw bad_data("int at " + hex(object) + " does not fit 64 bits");
    uint32_t digits[3] = {};
    memory_.read(object + layout_.long_digits,
                 std::span(reinterpret_cast<uint8_t*>(digits), LongDigits::digit_size * digit_count));
    uint64_t value = 0;
    for (uint64_t i = 0; i < digit_count; ++i) {
        if (digits[i] >= (uint32_t{1} << LongDigits::shift) || (i == 2 && digits[i] >= 8)) {
            throw bad_data("int at " + hex(object) + " is corrupt or does not fit 64 bits");
        }
        value |= uint64_t{digits[i]} << (LongDigits::shift * i);
    }
    return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
}

std::vector<ObjectReader::DictEntry> ObjectReader::keys_items(uint64_t keys, uint64_t values, size_t max_entries,
                                                              bool with_empty_values) {
    uint64_t entries = 0, nentries = 0, entry_size = 0, key_offset = 0, value_offset = 0;
    if (layout_.dict_keys == DictKeysFormat::Kinds311) {
        using K = encoding::DictKeys311;
        uint8_t raw[K::header_size];
        memory_.read(keys, raw);
        const uint8_t log2_size = raw[K::log2_size], log2_index_bytes = raw[K::log2_index_bytes], kind = raw[K::kind];
        std::memcpy(&nentries, raw + K::nentries, 8);
        // Index entries are 1-8 bytes wide, and entries never outnumber the slots.
        if (log2_size > K::max_log2_size || log2_index_bytes < log2_size || log2_index_bytes > log2_size + 3 ||
            kind > K::max_kind || nentries > (uint64_t{1} << log2_size)) {
            throw bad_data("dict keys at " + hex(keys) + " are corrupt", keys);
        }
        entries = keys + K::indices + (uint64_t{1} << log2_index_bytes);
        if (kind == K::kind_general) {
            entry_size = K::general_entry_size, key_offset = K::general_key, value_offset = K::general_value;
        } else {
            entry_size = K::unicode_entry_size, key_offset = K::unicode_key, value_offset = K::unicode_value;
        }
    } else {
        using K = encoding::DictKeys310;
        uint8_t raw[K::header_size];
        memory_.read(keys, raw);
        int64_t size = 0;
        std::memcpy(&size, raw + K::size, 8);
        std::memcpy(&nentries, raw + K::nentries, 8);
        if (size <= 0 || size > (int64_t{1} << 30) || nentries > static_cast<uint64_t>(size)) {
            throw bad_data("dict keys at " + hex(keys) + " are corrupt", keys);
        }
        const uint64_t width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffll ? 4 : 8;
        entries = keys + K::indices + static_cast<uint64_t>(size) * width;
        entry_size = K::entry_size, key_offset = K::key, value_offset = K::value;
    }
    if (nentries > kMaxDictEntries) throw bad_data("dict keys at " + hex(keys) + " have an implausible size");
    const uint64_t values_base =
        values + (layout_.dict_values == DictValuesFormat::PrefixedArray ? encoding::kPrefixedValuesHeader : 0);
    // In chunks, so that a caller that wants only the first live entries reads only those.
    constexpr uint64_t kChunk = 4096;
    std::vector<DictEntry> out;
    for (uint64_t first = 0; first < nentries && out.size() < max_entries; first += kChunk) {
        const uint64_t n = std::min(kChunk, nentries - first);
        if (n > kMaxDictEntriesInAll - dict_entries_read_)
            throw bad_data("more than " + std::to_string(kMaxDictEntriesInAll) + " dict entries read in all", keys);
        dict_entries_read_ += n;
        const std::vector<uint8_t> table =
            memory_.read_bytes(entries + first * entry_size, static_cast<size_t>(n * entry_size));
        std::vector<uint8_t> split_values;
        if (values) split_values = memory_.read_bytes(values_base + first * 8, static_cast<size_t>(n * 8));
        for (uint64_t i = 0; i < n && out.size() < max_entries; ++i) {
            DictEntry e;
            std::memcpy(&e.key, table.data() + i * entry_size + key_offset, 8);
            if (values) std::memcpy(&e.value, split_values.data() + i * 8, 8);
            else std::memcpy(&e.value, table.data() + i * entry_size + value_offset, 8);
            if (e.key && (e.value || with_empty_values)) out.push_back(e);
        }
    }
    return out;
}

std::vector<ObjectReader::DictEntry> ObjectReader::dict_items(uint64_t dict, size_t max_entries) {
    require(dict, BuiltinType::Dict);
    const uint64_t keys = memory_.read_pointer(dict + layout_.dict_keys_ptr);
    const uint64_t values = memory_.read_pointer(dict + layout_.dict_values_ptr);
    if (keys == 0) throw bad_data("dict at " + hex(dict) + " has no keys");
    return keys_items(keys, values, max_entries);
}

std::optional<uint64_t> ObjectReader::find_str_key(const std::vector<DictEntry>& entries, std::string_view key) {
    const std::string wanted(key);
    // Identifier keys are interned: compare pointers first, strings only when needed.
    if (auto interned = interned_keys_.find(wanted); interned != interned_keys_.end()) {
        for (const DictEntry& e : entries) {
            if (e.key == interned->second) return e.value;
        }
    }
    for (const DictEntry& e : entries) {
        try {
            if (read_str(e.key, wanted.size() + 1) == wanted) {
                interned_keys_[wanted] = e.key;
                return e.value;
            }
        } catch (const Error&) {
            // not a str key
        }
    }
    return std::nullopt;
}

std::optional<uint64_t> ObjectReader::dict_get(uint64_t dict, std::string_view key) {
    return find_str_key(dict_items(dict), key);
}

std::optional<uint64_t> ObjectReader::attribute(uint64_t object, std::string_view name) {
    const PythonLayout& l = layout_;
    const uint64_t type = type_of(object);
    const auto flags = memory_.read_value<uint64_t>(type + l.type_flags);
    const bool managed = l.type_flag_managed_dict && (flags & l.type_flag_managed_dict);
    uint64_t dict = 0, values = 0;
    switch (l.instance_dict) {
        case InstanceDictFormat::DictOffset: {
            const auto offset = memory_.read_value<int64_t>(type + l.type_dictoffset);
            if (offset > 0 && offset < (1 << 20)) dict = memory_.read_pointer(object + static_cast<uint64_t>(offset));
            break;
        }
        case InstanceDictFormat::Managed311:
            if (managed) {
                dict = memory_.read_pointer(object + l.managed_dict);
                if (!dict) values = memory_.read_pointer(object + l.managed_values);
            }
            break;
        case InstanceDictFormat::Managed312:
            if (managed) {
                const uint64_t dict_or_values = memory_.read_pointer(object + l.managed_dict);
                if (dict_or_values & 1) values = dict_or_values + 1;
                else dict = dict_or_values;
            }
            break;
        case InstanceDictFormat::Managed313:
            if (managed) {
                dict = memory_.read_pointer(object + l.managed_dict);
                if (!dict && (flags & l.type_flag_inline_values)) {
                    const auto basic_size = memory_.read_value<int64_t>(type + l.type_basicsize);
                    if (basic_size <= 0 || basic_size > (1 << 16))
                        throw bad_data("type at " + hex(type) + " has an implausible size");
                    values = object + static_cast<uint64_t>(basic_size);
                    if (memory_.read_value<uint8_t>(values + encoding::kInlineValuesValidByte) == 0) values = 0;
                }
            }
            break;
    }
    // A type with no managed dict may still keep one at tp_dictoffset (a Python subclass of
    // a C class that has a dict member, e.g. asyncio's _GatheringFuture, to 3.12).
    if (!dict && !values && !managed && l.instance_dict != InstanceDictFormat::DictOffset) {
        const auto offset = memory_.read_value<int64_t>(type + l.type_dictoffset);
        if (offset > 0 && offset < (1 << 20)) dict = memory_.read_pointer(object + static_cast<uint64_t>(offset));
    }
    if (dict) return dict_get(dict, name);
    if (values) {
        const uint64_t keys = memory_.read_pointer(type + l.heap_type_cached_keys);
        if (!keys) return std::nullopt;
        return split_dict_get(keys, values, name);
    }
    return std::nullopt;
}

// Every instance of a class shares its keys object: their names are read once, and only the
// one value asked for is read from each instance.
std::optional<uint64_t> ObjectReader::split_dict_get(uint64_t keys, uint64_t values, std::string_view key) {
    const std::vector<std::string>* names = shared_key_names_.find(keys);
    if (!names) {
        std::vector<std::string> read;
        const std::vector<DictEntry> entries = keys_items(keys, 0, SIZE_MAX, true);
        read.reserve(entries.size());
        for (const DictEntry& e : entries) {
            try {
                read.push_back(read_str(e.key, kMaxCachedStr));
            } catch (const Error& error) {
                if (error.kind() == ErrorKind::Internal) throw;
                read.emplace_back();  // not a str key: matches no name
            }
        }
        names = &shared_key_names_.insert(keys, std::move(read));
    }
    if (key.empty()) return std::nullopt;
    const uint64_t values_base =
        values + (layout_.dict_values == DictValuesFormat::PrefixedArray ? encoding::kPrefixedValuesHeader : 0);
    for (size_t i = 0; i < names->size(); ++i) {
        if ((*names)[i] != key) continue;
        // Absent from this instance (deleted, or never set) when its value is null.
        if (const uint64_t value = memory_.read_pointer(values_base + i * 8)) return value;
    }
    return std::nullopt;
}

int64_t ObjectReader::checked_size(uint64_t object, Offset field) {
    const auto n = memory_.read_value<int64_t>(object + field);
    if (n < 0 || n > (int64_t{1} << 40)) throw bad_data("container at " + hex(object) + " has an implausible size");
    return n;
}

std::vector<uint64_t> ObjectReader::sequence_items(uint64_t object, bool tuple, size_t max) {
    const auto n = static_cast<uint64_t>(checked_size(object, layout_.var_size));
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, max));
    if (count == 0) return {};
    const uint64_t items = tuple ? object + layout_.tuple_items : memory_.read_pointer(object + layout_.list_items);
    const std::vector<uint8_t> raw = memory_.read_bytes(items, count * 8);
    std::vector<uint64_t> out(count);
    std::memcpy(out.data(), raw.data(), count * 8);
    return out;
}

std::vector<uint64_t> ObjectReader::set_items(uint64_t set, size_t max) {
    const auto used = checked_size(set, layout_.set_used);
    const auto mask = memory_.read_value<int64_t>(set + layout_.set_mask);
    if (mask < 0 || mask >= (int64_t{1} << 24) || ((mask + 1) & mask) != 0 || used > mask + 1)
        throw bad_data("set at " + hex(set) + " has an implausible table");
    const uint64_t table = memory_.read_pointer(set + layout_.set_table);
    constexpr size_t kEntrySize = 16;  // setentry {PyObject *key; Py_hash_t hash;}
    std::vector<uint64_t> out;
    const auto slots = static_cast<uint64_t>(mask) + 1;
    constexpr uint64_t kChunk = 1024;
    for (uint64_t first = 0; first < slots && out.size() < static_cast<uint64_t>(used) && out.size() < max;
         first += kChunk) {
        const uint64_t n = std::min(kChunk, slots - first);
        if (n > kMaxSetSlotsInAll - set_slots_read_)
            throw bad_data("more than " + std::to_string(kMaxSetSlotsInAll) + " set slots read in all", set);
        set_slots_read_ += n;
        const std::vector<uint8_t> raw = memory_.read_bytes(table + first * kEntrySize, n * kEntrySize);
        for (uint64_t k = 0; k < n && out.size() < max; ++k) {
            uint64_t key = 0;
            int64_t hash = 0;
            std::memcpy(&key, raw.data() + k * kEntrySize, 8);
            std::memcpy(&hash, raw.data() + k * kEntrySize + 8, 8);
            if (key && hash != -1) out.push_back(key);  // -1: a deleted entry (the dummy key)
        }
    }
    return out;
}

}  // namespace stackscope
