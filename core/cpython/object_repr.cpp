#include "cpython/object_repr.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <variant>

#include "cpython/float_repr.hpp"
#include "cpython/int_repr.hpp"
#include "cpython/text_repr.hpp"
#include "cpython/versions/object_encodings.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

constexpr int kMaxFullDepth = 64;  // nesting builtins.repr() follows before it writes `...`
// Objects one outermost repr visits, nested reprs included: Futures whose results share parts
// (a Future holding [f, f], each f holding [g, g], ...) are shown once per path to them, which
// doubles at each level; CPython would take as long.
constexpr size_t kMaxVisits = 100000;
constexpr uint64_t kMaxExactIntDigits = 8192;  // 30-bit digits converted exactly (~74000 decimal digits)
constexpr size_t kMaxSortedStrChars = 256;     // characters of a str compared when sorting

std::u32string unreadable_text(uint64_t object) { return from_ascii("<unreadable " + hex(object) + ">"); }

}  // namespace

bool ObjectRepr::is_exactly(uint64_t type, BuiltinType builtin) {
    switch (objects_.types().match(type, builtin)) {
        case TypeMatch::Yes: return true;
        case TypeMatch::No: return false;
        case TypeMatch::Unknown: return objects_.static_type_name(type) == builtin_type_name(builtin);
    }
    return false;
}

ObjectRepr::Kind ObjectRepr::kind_of(uint64_t object) {
    const uint64_t type = objects_.type_of(object);
    // A type's kind does not change within an extraction; the objects of one type are many.
    if (const auto it = kinds_.find(type); it != kinds_.end()) return it->second;
    return kinds_.emplace(type, kind_of_type(type)).first->second;
}

ObjectRepr::Kind ObjectRepr::kind_of_type(uint64_t type) {
    static constexpr std::pair<BuiltinType, Kind> kExact[] = {
        {BuiltinType::NoneType, Kind::None},
        {BuiltinType::Bool, Kind::Bool},
        {BuiltinType::Int, Kind::Int},
        {BuiltinType::Float, Kind::Float},
        {BuiltinType::Str, Kind::Str},
        {BuiltinType::Bytes, Kind::Bytes},
        {BuiltinType::Tuple, Kind::Tuple},
        {BuiltinType::List, Kind::List},
        {BuiltinType::Dict, Kind::Dict},
        {BuiltinType::Set, Kind::Set},
        {BuiltinType::FrozenSet, Kind::FrozenSet},
        {BuiltinType::Function, Kind::Function},
        {BuiltinType::Method, Kind::Method},
        {BuiltinType::BuiltinMethod, Kind::BuiltinFunction},
        {BuiltinType::Module, Kind::Module},
    };
    for (const auto& [builtin, kind] : kExact) {
        if (is_exactly(type, builtin)) return kind;
    }
    const PythonLayout& l = objects_.layout();
    const auto flags = objects_.memory().read_value<uint64_t>(type + l.type_flags);
    if (objects_.is_class_type(type)) return Kind::Class;
    if (flags & l.type_flag_base_exc_subclass) return Kind::Exception;
    // The lock types are static types before 3.13 and heap types from 3.13, tp_name alike.
    const auto name = objects_.static_type_name(type);
    if (name == "_thread.lock") return Kind::Lock;
    if (name == "_thread.RLock") return Kind::RLock;
    if (name == "generator" || name == "coroutine" || name == "async_generator") return Kind::Generator;
    if (name == "builtin_method") return Kind::BuiltinFunction;  // METH_METHOD: a builtin_function_or_method
    return Kind::Other;
}

ObjectRepr::Kind ObjectRepr::inherited_kind(uint64_t type) {
    if (const auto it = inherited_kinds_.find(type); it != inherited_kinds_.end()) return it->second;
    static constexpr std::pair<BuiltinType, Kind> kBases[] = {
        {BuiltinType::Int, Kind::Int},     {BuiltinType::Float, Kind::Float}, {BuiltinType::Str, Kind::Str},
        {BuiltinType::Bytes, Kind::Bytes}, {BuiltinType::Tuple, Kind::Tuple}, {BuiltinType::List, Kind::List},
        {BuiltinType::Dict, Kind::Dict},   {BuiltinType::Set, Kind::Set},     {BuiltinType::FrozenSet, Kind::FrozenSet},
    };
    constexpr int64_t kMaxMro = 64;
    const PythonLayout& l = objects_.layout();
    RemoteMemory& memory = objects_.memory();
    Kind kind = Kind::Other;
    try {
        const uint64_t mro = memory.read_pointer(type + l.type_mro);
        const auto size = mro ? memory.read_value<int64_t>(mro + l.var_size) : 0;
        for (int64_t i = 0; i < std::min(size, kMaxMro); ++i) {
            const uint64_t base = objects_.tuple_item(mro, static_cast<uint64_t>(i));
            const auto builtin = std::find_if(std::begin(kBases), std::end(kBases),
                                              [&](const auto& b) { return is_exactly(base, b.first); });
            if (builtin != std::end(kBases)) {
                kind = i > 0 ? builtin->second : Kind::Other;
                break;
            }
            // Only Python classes that say nothing of __repr__ on the way (a C type has its own
            // tp_repr, and a class without a dict cannot be told).
            const auto flags = memory.read_value<uint64_t>(base + l.type_flags);
            const uint64_t dict = memory.read_pointer(base + l.type_dict);
            if (!(flags & l.type_flag_heap_type) || !dict || objects_.dict_get(dict, "__repr__")) break;
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        kind = Kind::Other;
    }
    return inherited_kinds_.emplace(type, kind).first->second;
}

std::string ObjectRepr::repr(uint64_t object) {
    in_progress_.clear();
    if (outermost_) return to_utf8(bounded(object, bounds_.max_level));
    visits_ = 0;
    try {
        return to_utf8(bounded(object, bounds_.max_level));
    } catch (const TooManyVisits&) {
        return to_utf8(raised_text(object));
    }
}

std::string ObjectRepr::repr_of_future(uint64_t object) {
    visits_ = 0;
    try {
        // What repr() comes to for such an object: reprlib's repr_instance of builtins.repr().
        if (kind_of(object) == Kind::Other) {
            in_progress_.clear();
            const auto text = asyncio_.repr(object, future_values(base_depth_));
            const bool ascii = text && std::all_of(text->begin(), text->end(),
                                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
            if (ascii && text->size() <= bounds_.max_other) return *text;
        }
    } catch (const Failed&) {
        // repr() says what reprlib does
    } catch (const TooManyVisits&) {
        return to_utf8(raised_text(object));
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
    }
    return repr(object);
}

void ObjectRepr::visit() {
    size_t& visits = outermost_ ? outermost_->visits_ : visits_;
    if (++visits > kMaxVisits) throw TooManyVisits{};
}

// reprlib's answer when repr() raises: the class's __name__.
ObjectRepr::Text ObjectRepr::raised_text(uint64_t object) {
    try {
        return U"<" + from_utf8(objects_.type_name(objects_.type_of(object))) +
               from_ascii(" instance at " + hex(object) + ">");
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        return unreadable_text(object);
    }
}

ObjectRepr::Text ObjectRepr::bounded(uint64_t object, int level) {
    visit();
    try {
        const Kind kind = kind_of(object);
        switch (kind) {
            case Kind::Str: return bounded_str(object);
            case Kind::Int: return bounded_int(object);
            case Kind::Tuple:
            case Kind::List: return bounded_sequence(object, kind, level);
            case Kind::Set:
            case Kind::FrozenSet: return bounded_set(object, kind, level);
            case Kind::Dict: return bounded_dict(object, level);
            default: return instance(object);
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        return unreadable_text(object);
    }
}

ObjectRepr::Text ObjectRepr::instance(uint64_t object) {
    Text out;
    in_progress_.clear();
    try {
        full(object, out, base_depth_);
    } catch (const Failed&) {
        return raised_text(object);
    }
    return truncate_middle(out, bounds_.max_other);
}

// repr_str: repr(x[:maxstring]), else repr(x[:i] + x[len(x)-j:]) cut to i + '...' + j.
ObjectRepr::Text ObjectRepr::bounded_str(uint64_t object) {
    const size_t max = bounds_.max_string;
    const size_t i = truncation_head(max), j = truncation_tail(max);
    const StrParts parts = read_str(object, max, j);
    const auto printable = printable_ranges(objects_.layout().unicode_database);
    Text s = str_repr(parts.head, printable);
    if (s.size() <= max) return s;
    Text joined = parts.head.substr(0, std::min(i, parts.head.size()));
    if (parts.length > max) {
        joined += parts.tail;
    } else {
        joined += python_tail(parts.head, static_cast<int64_t>(parts.length) - static_cast<int64_t>(j));
    }
    s = str_repr(joined, printable);
    Text out = s.substr(0, std::min(i, s.size()));
    out += U"...";
    out += python_tail(s, static_cast<int64_t>(s.size()) - static_cast<int64_t>(j));
    return out;
}

ObjectRepr::Text ObjectRepr::bounded_int(uint64_t object) {
    uint64_t digits = 0;
    const auto text = int_text(object, &digits);
    if (!text) return from_ascii("<int with " + std::to_string(digits) + " digits>");
    return truncate_middle(from_ascii(*text), bounds_.max_long);
}

// _repr_iterable for tuples and lists.
ObjectRepr::Text ObjectRepr::bounded_sequence(uint64_t object, Kind kind, int level) {
    const bool tuple = kind == Kind::Tuple;
    const size_t max = tuple ? bounds_.max_tuple : bounds_.max_list;
    const int64_t n = item_count(object, kind);
    Text out = tuple ? U"(" : U"[";
    if (level <= 0 && n) {
        out += U"...";
    } else {
        const std::vector<uint64_t> items = sequence_items(object, kind, max);
        for (size_t k = 0; k < items.size(); ++k) {
            if (k) out += U", ";
            out += bounded(items[k], level - 1);
        }
        if (static_cast<uint64_t>(n) > max) out += items.empty() ? U"..." : U", ...";
        if (n == 1 && tuple) out += U",";
    }
    out += tuple ? U")" : U"]";
    return out;
}

ObjectRepr::Text ObjectRepr::bounded_set(uint64_t object, Kind kind, int level) {
    const bool frozen = kind == Kind::FrozenSet;
    const int64_t n = item_count(object, kind);
    if (n == 0) return frozen ? U"frozenset()" : U"set()";
    const size_t max = frozen ? bounds_.max_frozenset : bounds_.max_set;
    Text out = frozen ? U"frozenset({" : U"{";
    if (level <= 0) {
        out += U"...";
    } else {
        // More items than are sorted: as iterated, and only the ones shown are read.
        const bool sorted = static_cast<uint64_t>(n) <= kMaxSortedItems;
        std::vector<uint64_t> items = set_items(object, sorted ? kMaxSortedItems : max);
        if (sorted) items = possibly_sorted(std::move(items));
        for (size_t k = 0; k < items.size() && k < max; ++k) {
            if (k) out += U", ";
            out += bounded(items[k], level - 1);
        }
        if (static_cast<uint64_t>(n) > max) out += U", ...";
    }
    out += frozen ? U"})" : U"}";
    return out;
}

ObjectRepr::Text ObjectRepr::bounded_dict(uint64_t object, int level) {
    const int64_t n = item_count(object, Kind::Dict);
    if (n == 0) return U"{}";
    if (level <= 0) return U"{...}";
    // More items than are sorted: as iterated, and only the ones shown are read.
    const bool sorted = static_cast<uint64_t>(n) <= kMaxSortedItems;
    const std::vector<ObjectReader::DictEntry> entries =
        objects_.dict_items(object, sorted ? kMaxSortedItems : bounds_.max_dict);
    std::vector<uint64_t> keys;
    for (const auto& e : entries) keys.push_back(e.key);
    if (sorted) keys = possibly_sorted(std::move(keys));
    Text out = U"{";
    for (size_t k = 0; k < keys.size() && k < bounds_.max_dict; ++k) {
        if (k) out += U", ";
        out += bounded(keys[k], level - 1);
        out += U": ";
        uint64_t value = 0;
        for (const auto& e : entries) {
            if (e.key == keys[k]) value = e.value;
        }
        out += bounded(value, level - 1);
    }
    if (static_cast<uint64_t>(n) > bounds_.max_dict) out += U", ...";
    out += U"}";
    return out;
}

// builtins.repr().
void ObjectRepr::full(uint64_t object, Text& out, int depth) {
    if (out.size() >= kMaxFullRepr) return;
    visit();
    if (depth > kMaxFullDepth) {
        out += U"...";
        return;
    }
    Kind kind = Kind::Other;
    try {
        kind = kind_of(object);
        if (kind == Kind::Other) kind = inherited_kind(objects_.type_of(object));
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        out += unreadable_text(object);
        return;
    }
    // A part that cannot be read shows as unreadable where it is, the rest as it is.
    Text part;
    try {
        switch (kind) {
            case Kind::Tuple:
            case Kind::List:
            case Kind::Dict:
            case Kind::Set:
            case Kind::FrozenSet: full_container(object, kind, part, depth); break;
            default: full_named(object, kind, part, depth); break;
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        part = unreadable_text(object);
    }
    out += part;
    if (out.size() > kMaxFullRepr) out.resize(kMaxFullRepr);
}

void ObjectRepr::full_container(uint64_t object, Kind kind, Text& out, int depth) {
    const bool frozen = kind == Kind::FrozenSet;
    if (std::find(in_progress_.begin(), in_progress_.end(), object) != in_progress_.end()) {
        switch (kind) {
            case Kind::Tuple: out += U"(...)"; return;
            case Kind::List: out += U"[...]"; return;
            case Kind::Dict: out += U"{...}"; return;
            default: out += frozen ? U"frozenset(...)" : U"set(...)"; return;
        }
    }
    in_progress_.push_back(object);
    struct Leave {
        std::vector<uint64_t>& stack;
        ~Leave() { stack.pop_back(); }
    } leave{in_progress_};
    const size_t max_items = kMaxFullRepr / 2;  // each item takes at least ", "
    if (kind == Kind::Dict) {
        out += U"{";
        bool first = true;
        for (const auto& e : objects_.dict_items(object, kMaxFullRepr / 4)) {  // each takes at least `x: y, `
            if (out.size() >= kMaxFullRepr) break;
            if (!first) out += U", ";
            first = false;
            full(e.key, out, depth + 1);
            out += U": ";
            full(e.value, out, depth + 1);
        }
        out += U"}";
        return;
    }
    if (kind == Kind::Set || kind == Kind::FrozenSet) {
        const std::vector<uint64_t> items = set_items(object, max_items);
        if (items.empty()) {
            out += frozen ? U"frozenset()" : U"set()";
            return;
        }
        out += frozen ? U"frozenset({" : U"{";
        for (size_t k = 0; k < items.size() && out.size() < kMaxFullRepr; ++k) {
            if (k) out += U", ";
            full(items[k], out, depth + 1);
        }
        out += frozen ? U"})" : U"}";
        return;
    }
    const bool tuple = kind == Kind::Tuple;
    const std::vector<uint64_t> items = sequence_items(object, kind, max_items);
    out += tuple ? U"(" : U"[";
    for (size_t k = 0; k < items.size() && out.size() < kMaxFullRepr; ++k) {
        if (k) out += U", ";
        full(items[k], out, depth + 1);
    }
    if (tuple && items.size() == 1) out += U",";
    out += tuple ? U")" : U"]";
}

int64_t ObjectRepr::item_count(uint64_t object, Kind kind) {
    const PythonLayout& l = objects_.layout();
    return objects_.checked_size(object, kind == Kind::Set || kind == Kind::FrozenSet ? l.set_used
                                         : kind == Kind::Dict                         ? l.dict_used
                                                                                      : l.var_size);
}

std::vector<uint64_t> ObjectRepr::sequence_items(uint64_t object, Kind kind, size_t max) {
    return objects_.sequence_items(object, kind == Kind::Tuple, max);
}

std::vector<uint64_t> ObjectRepr::set_items(uint64_t object, size_t max) { return objects_.set_items(object, max); }

// reprlib's _possibly_sorted: sorted() where the items compare (numbers, strs), else as
// iterated, as sorted() raising TypeError leaves them.
std::vector<uint64_t> ObjectRepr::possibly_sorted(std::vector<uint64_t> items) {
    if (items.size() < 2) return items;
    using Key = std::variant<long double, Text>;
    std::vector<std::pair<Key, uint64_t>> keyed;
    try {
        for (const uint64_t item : items) {
            const Kind kind = kind_of(item);
            if (kind == Kind::Int || kind == Kind::Bool) {
                keyed.emplace_back(static_cast<long double>(objects_.read_int(item)), item);
            } else if (kind == Kind::Float) {
                const auto value = objects_.memory().read_value<double>(item + objects_.layout().float_value);
                if (std::isnan(value)) return items;  // sorted() gives an order that depends on where NaN is
                keyed.emplace_back(static_cast<long double>(value), item);
            } else if (kind == Kind::Str) {
                keyed.emplace_back(read_str(item, kMaxSortedStrChars, 0).head, item);
            } else {
                return items;
            }
            if (keyed.back().first.index() != keyed.front().first.index()) return items;  // str vs number
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        return items;  // an int beyond 64 bits, or an unreadable item: as iterated
    }
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = 0; k < items.size(); ++k) items[k] = keyed[k].second;
    return items;
}

ObjectRepr::StrParts ObjectRepr::read_str(uint64_t object, size_t head, size_t tail) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& memory = objects_.memory();
    const auto length = memory.read_value<int64_t>(object + l.unicode_length);
    const auto state = memory.read_value<uint32_t>(object + l.unicode_state);
    if (length < 0 || length > (int64_t{1} << 48))
        throw bad_data("str at " + hex(object) + " has an implausible length");
    using encoding::StrState;
    const unsigned kind = (state >> StrState::kind_shift) & StrState::kind_mask;
    if (kind != 1 && kind != 2 && kind != 4) throw bad_data("str at " + hex(object) + " has an invalid kind");
    uint64_t data = 0;
    if ((state & StrState::compact) && (state & StrState::ascii)) data = object + l.unicode_ascii_data;
    else if (state & StrState::compact) data = object + l.unicode_compact_data;
    else data = memory.read_pointer(object + l.unicode_compact_data);
    auto decode = [&](uint64_t first, uint64_t count) {
        const std::vector<uint8_t> raw = memory.read_bytes(data + first * kind, static_cast<size_t>(count * kind));
        Text out(static_cast<size_t>(count), U'\0');
        for (size_t i = 0; i < count; ++i) {
            uint32_t cp = 0;
            std::memcpy(&cp, raw.data() + i * kind, kind);  // little-endian: the low bytes
            out[i] = static_cast<char32_t>(cp);
        }
        return out;
    };
    StrParts parts;
    parts.length = static_cast<uint64_t>(length);
    const uint64_t head_count = std::min<uint64_t>(parts.length, head);
    parts.head = decode(0, head_count);
    if (parts.length > head_count) {  // the last `tail` characters, wherever the head ends
        const uint64_t tail_count = std::min<uint64_t>(parts.length, tail);
        parts.tail = decode(parts.length - tail_count, tail_count);
    }
    return parts;
}

ObjectRepr::Text ObjectRepr::str_text(uint64_t object, size_t max_chars) { return read_str(object, max_chars, 0).head; }

std::optional<ObjectRepr::Text> ObjectRepr::str_if_str(uint64_t object) {
    if (!object || kind_of(object) != Kind::Str) return std::nullopt;
    return str_text(object, 4096);
}

std::optional<std::string> ObjectRepr::int_text(uint64_t object, uint64_t* digit_count) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& memory = objects_.memory();
    using encoding::LongDigits;
    uint64_t count = 0;
    bool negative = false;
    if (l.int_format == IntFormat::LvTag) {
        const auto tag = memory.read_value<uint64_t>(object + l.var_size);
        count = tag >> LongDigits::tag_count_shift;
        negative = (tag & LongDigits::tag_sign_mask) == LongDigits::tag_negative;
    } else {
        const auto size = memory.read_value<int64_t>(object + l.var_size);
        negative = size < 0;
        count = negative ? 0 - static_cast<uint64_t>(size) : static_cast<uint64_t>(size);
    }
    if (count > (uint64_t{1} << 40)) throw bad_data("int at " + hex(object) + " has an implausible size");
    const auto limit = static_cast<uint64_t>(l.int_max_str_digits);
    // Each 30-bit digit below the top one adds over 9 decimal digits: past the limit without
    // converting (as CPython's own check does before it converts).
    if (count > kMaxExactIntDigits || (limit > 0 && count > 1 && (count - 1) * 9 > limit)) {
        // Far over the limit (4300 digits are under 480 30-bit digits): estimated from the top
        // two digits.
        uint32_t top[2] = {};
        memory.read(object + l.long_digits + LongDigits::digit_size * (count - 2),
                    std::span(reinterpret_cast<uint8_t*>(top), sizeof top));
        const double leading = static_cast<double>(top[1]) * (1 << LongDigits::shift) + top[0];
        const double log10 =
            static_cast<double>(count - 2) * LongDigits::shift * std::log10(2.0) + std::log10(std::max(leading, 1.0));
        // Next to a power of ten (10**40000) the estimate may be one off: such an int is
        // converted, where it is not too long to.
        const double fraction = log10 - std::floor(log10);
        if (count > kMaxExactIntDigits || (fraction > 1e-9 && fraction < 1 - 1e-9)) {
            *digit_count = static_cast<uint64_t>(log10) + 1;
            return std::nullopt;
        }
    }
    const std::vector<uint8_t> raw =
        memory.read_bytes(object + l.long_digits, static_cast<size_t>(count * LongDigits::digit_size));
    std::vector<uint32_t> digits(static_cast<size_t>(count));
    if (!raw.empty()) std::memcpy(digits.data(), raw.data(), raw.size());  // 0 has no digits
    for (const uint32_t d : digits) {
        if (d >> LongDigits::shift) throw bad_data("int at " + hex(object) + " has a corrupt digit");
    }
    std::string text = decimal_digits(digits);
    if (limit > 0 && text.size() > limit) {
        *digit_count = text.size();
        return std::nullopt;
    }
    return negative && text != "0" ? "-" + text : text;
}

}  // namespace stackscope
