// The bounded repr: float formatting, str and bytes escaping per Unicode database, int digits,
// reprlib's truncation, and ObjectRepr over synthetic memory (each str kind, containers,
// cycles, bounds, unreadable and corrupt objects).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "cpython/float_repr.hpp"
#include "cpython/int_repr.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/object_repr.hpp"
#include "cpython/text_repr.hpp"
#include "stackscope/hex.hpp"
#include "repr_world.hpp"
#include "synthetic_memory.hpp"
#include "target/remote_memory.hpp"

using namespace stackscope;
using stackscope_test::ObjectBuilder;
using stackscope_test::SyntheticTarget;

TEST_CASE("float_repr follows CPython's repr rules", "[repr]") {
    CHECK(float_repr(0.0) == "0.0");
    CHECK(float_repr(-0.0) == "-0.0");
    CHECK(float_repr(1.0) == "1.0");
    CHECK(float_repr(0.1) == "0.1");
    CHECK(float_repr(2.5) == "2.5");
    CHECK(float_repr(1e16) == "1e+16");
    CHECK(float_repr(1e15) == "1000000000000000.0");
    CHECK(float_repr(1e-5) == "1e-05");
    CHECK(float_repr(1e-4) == "0.0001");
    CHECK(float_repr(-1.5e-300) == "-1.5e-300");
    CHECK(float_repr(1e22) == "1e+22");
    CHECK(float_repr(123456789012345680.0) == "1.2345678901234568e+17");
    CHECK(float_repr(0.30000000000000004) == "0.30000000000000004");
    CHECK(float_repr(1.7976931348623157e308) == "1.7976931348623157e+308");
    CHECK(float_repr(5e-324) == "5e-324");
    CHECK(float_repr(std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(float_repr(-std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(float_repr(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(float_repr(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("str_repr: quotes, escapes and the version's printable code points", "[repr]") {
    const auto v14 = printable_ranges(UnicodeDatabase::V14_0);
    const auto v15 = printable_ranges(UnicodeDatabase::V15_0);
    const auto v16 = printable_ranges(UnicodeDatabase::V16_0);
    auto repr = [](std::u32string_view s, std::span<const CodepointRange> p) { return to_utf8(str_repr(s, p)); };
    CHECK(repr(U"", v14) == "''");
    CHECK(repr(U"it's", v14) == "\"it's\"");
    CHECK(repr(U"say \"hi\"", v14) == "'say \"hi\"'");
    CHECK(repr(U"both ' and \"", v14) == "'both \\' and \"'");
    CHECK(repr(U"\t\n\r\\", v14) == "'\\t\\n\\r\\\\'");
    CHECK(repr(std::u32string_view(U"\x00\x1b\x7f", 3), v14) == "'\\x00\\x1b\\x7f'");
    CHECK(repr(U"caf\u00e9\u00a0\u00ad", v14) == "'caf\u00e9\\xa0\\xad'");
    CHECK(repr(U"\u03a9\u2028\ufeff", v14) == "'\u03a9\\u2028\\ufeff'");
    CHECK(repr(U"\U0001F600\U000E0001", v14) == "'\U0001F600\\U000e0001'");
    CHECK(repr(std::u32string(1, char32_t{0xd800}), v14) == "'\\ud800'");
    // U+1FAE8 SHAKING FACE arrived in Unicode 15.0, U+0897 in 16.0.
    CHECK(repr(U"\U0001FAE8", v14) == "'\\U0001fae8'");
    CHECK(repr(U"\U0001FAE8", v15) == "'\U0001FAE8'");
    CHECK(repr(U"\u0897", v15) == "'\\u0897'");
    CHECK(repr(U"\u0897", v16) == "'\u0897'");
    CHECK(is_printable(v14, ' '));
    CHECK_FALSE(is_printable(v14, 0x10FFFF));
}

TEST_CASE("bytes_repr escapes as bytes.__repr__", "[repr]") {
    const uint8_t data[] = {'a', '\'', 0, '\t', 0x7f, 0x80, 0xff, '\\'};
    CHECK(to_utf8(bytes_repr(data)) == "b\"a'\\x00\\t\\x7f\\x80\\xff\\\\\"");
    CHECK(to_utf8(bytes_repr({})) == "b''");
}

TEST_CASE("decimal_digits converts 30-bit digits", "[repr]") {
    CHECK(decimal_digits({}) == "0");
    const uint32_t two_30[] = {0, 1};
    CHECK(decimal_digits(two_30) == "1073741824");
    const uint32_t max_u64[] = {0x3fffffff, 0x3fffffff, 0xf};  // 2^64 - 1
    CHECK(decimal_digits(max_u64) == "18446744073709551615");
    const uint32_t ten_9[] = {1000000000 & 0x3fffffff, 1000000000 >> 30};
    CHECK(decimal_digits(ten_9) == "1000000000");
}

TEST_CASE("truncate_middle and python_tail cut as reprlib does", "[repr]") {
    CHECK(to_utf8(truncate_middle(U"short", 80)) == "short");
    const std::u32string long_text(100, U'x');
    const std::string cut = to_utf8(truncate_middle(long_text, 80));
    CHECK(cut == std::string(38, 'x') + "..." + std::string(39, 'x'));
    CHECK(to_utf8(truncate_middle(U"abcdef", 4)) == "...f");
    CHECK(to_utf8(truncate_middle(U"abcdef", 2)) == "...");
    CHECK(to_utf8(std::u32string(python_tail(U"abc", -1))) == "c");
    CHECK(to_utf8(std::u32string(python_tail(U"abc", -10))) == "abc");
    CHECK(python_tail(U"abc", 5).empty());
}

using World = stackscope_test::ReprWorld;

TEST_CASE("ObjectRepr: numbers and None", "[repr]") {
    World w;
    CHECK(w.repr(w.none) == "None");
    CHECK(w.repr(w.integer(0)) == "0");
    CHECK(w.repr(w.integer(-42)) == "-42");
    CHECK(w.repr(w.integer(int64_t{1} << 62)) == "4611686018427387904");
    CHECK(w.repr(w.floating(1e16)) == "1e+16");
    // 10^90: 91 digits, cut to maxlong.
    std::vector<uint32_t> digits = {1};
    for (int k = 0; k < 90; ++k) {
        uint64_t carry = 0;
        for (uint32_t& d : digits) {
            const uint64_t z = uint64_t{d} * 10 + carry;
            d = static_cast<uint32_t>(z & 0x3fffffff);
            carry = z >> 30;
        }
        if (carry) digits.push_back(static_cast<uint32_t>(carry));
    }
    CHECK(w.repr(w.big_int(digits)) == "1" + std::string(37, '0') + "..." + std::string(39, '0'));
    // Over sys.get_int_max_str_digits(): 500 digits of 2^30 - 1 have 4516 decimal digits.
    const std::vector<uint32_t> huge(500, 0x3fffffff);
    CHECK(w.repr(w.big_int(huge)) == "<int with 4516 digits>");
}

TEST_CASE("ObjectRepr: bools, also where their type is known by name only", "[repr]") {
    World w;
    const uint64_t yes = w.integer(1), no = w.integer(0);
    for (const uint64_t b : {yes, no}) w.target.put_u64(b + w.layout.object_type, w.type(BuiltinType::Bool));
    const uint64_t list = w.list({yes, no, w.integer(1)});
    CHECK(w.repr(list) == "[True, False, 1]");
    // A core without symbols: bool's address is not learned, its tp_name says what it is.
    w.types.set(BuiltinType::Bool, 0);
    CHECK(w.repr(list) == "[True, False, 1]");
}

TEST_CASE("ObjectRepr: each str kind, escaped and cut as reprlib cuts", "[repr]") {
    World w;
    CHECK(w.repr(w.str(U"abc")) == "'abc'");
    CHECK(w.repr(w.str(U"caf\u00e9\u00a0")) == "'caf\u00e9\\xa0'");
    CHECK(w.repr(w.str(U"\u03a9\u2028")) == "'\u03a9\\u2028'");
    CHECK(w.repr(w.str(U"\U0001F600\U000E0001")) == "'\U0001F600\\U000e0001'");
    // Unicode 15.0 (3.12): U+1FAE8 printable, U+0897 (16.0) not.
    CHECK(w.repr(w.str(U"\U0001FAE8\u0897")) == "'\U0001FAE8\\u0897'");
    CHECK(w.repr(w.str(std::u32string(1000, U'x'))) == "'" + std::string(37, 'x') + "..." + std::string(38, 'x') + "'");
    // 30 NULs: repr(x[:80]) is 122 characters; x[:38] + x[len(x)-39:] takes Python's negative slice.
    std::string nuls;
    for (int k = 0; k < 57; ++k) nuls += "\\x00";
    const std::string expected_nuls = "'" + nuls.substr(0, 37) + "..." + nuls.substr(nuls.size() - 38) + "'";
    CHECK(w.repr(w.str(std::u32string(30, U'\0'))) == expected_nuls);
}

TEST_CASE("ObjectRepr: a str whose characters are elsewhere (not compact)", "[repr]") {
    World w;
    const uint64_t compact = w.str(U"\u03a9xxxx", 2);  // room for the data pointer
    w.target.put<int64_t>(compact + w.layout.unicode_length, 2);
    const uint64_t data = w.b.alloc(8);
    w.target.put<uint16_t>(data, 0x3a9);
    w.target.put<uint16_t>(data + 2, 'y');
    w.target.put<uint32_t>(compact + w.layout.unicode_state, 2 << 2);  // kind 2, neither compact nor ASCII
    w.target.put_u64(compact + w.layout.unicode_compact_data, data);
    CHECK(w.repr(compact) == "'\u03a9y'");
}

TEST_CASE("ObjectRepr: containers, levels, sorting and cycles", "[repr]") {
    World w;
    const uint64_t one = w.integer(1), two = w.integer(2), three = w.integer(3);
    CHECK(w.repr(w.tuple({})) == "()");
    CHECK(w.repr(w.tuple({one})) == "(1,)");
    CHECK(w.repr(w.list({one, two, three})) == "[1, 2, 3]");
    std::vector<uint64_t> seven;
    for (int k = 0; k < 7; ++k) seven.push_back(w.integer(k));
    CHECK(w.repr(w.list(seven)) == "[0, 1, 2, 3, 4, 5, ...]");
    CHECK(w.repr(w.list({w.list({w.list({w.list({one})})})})) == "[[[[...]]]]");
    // A list that holds itself: reprlib's level cuts it.
    const uint64_t cyclic = w.list({one, one});
    RemoteMemory probe(w.target);
    const uint64_t items = probe.read_pointer(cyclic + w.layout.list_items);
    w.target.put_u64(items + 8, cyclic);
    CHECK(w.repr(cyclic) == "[1, [1, [1, [...]]]]");
    const uint64_t b = w.str(U"b"), a = w.str(U"a");
    CHECK(w.repr(w.dict({})) == "{}");
    CHECK(w.repr(w.dict({{b, one}, {a, two}})) == "{'a': 2, 'b': 1}");
    CHECK(w.repr(w.set({three, one, two})) == "{1, 2, 3}");
    CHECK(w.repr(w.set({})) == "set()");
    CHECK(w.repr(w.set({one}, BuiltinType::FrozenSet)) == "frozenset({1})");
    CHECK(w.repr(w.set({}, BuiltinType::FrozenSet)) == "frozenset()");
    // Mixed types do not sort: as iterated.
    CHECK(w.repr(w.set({b, one})) == "{'b', 1}");
}

TEST_CASE("ObjectRepr: a list holding itself six times stays within reprlib's bounds", "[repr]") {
    World w;
    const uint64_t one = w.integer(1);
    const uint64_t list = w.list(std::vector<uint64_t>(100, one));
    RemoteMemory memory(w.target);
    const uint64_t items = memory.read_pointer(list + w.layout.list_items);
    for (int k = 0; k < 100; ++k) w.target.put_u64(items + 8 * k, list);
    // Level 0 is `[...]`; each level above shows six of the level below and `...`.
    std::string expected = "[...]";
    for (int level = 1; level <= 3; ++level) {
        std::string next = "[";
        for (int k = 0; k < 6; ++k) next += expected + ", ";
        expected = next + "...]";
    }
    CHECK(w.repr(list) == expected);
}

TEST_CASE("ObjectRepr: generators, coroutines and async generators show their __qualname__", "[repr]") {
    World w;
    for (const std::string kind : {"generator", "coroutine", "async_generator"}) {
        const uint64_t gen = w.b.alloc(256);
        w.target.put_u64(gen, 1);
        w.target.put_u64(gen + w.layout.object_type, w.b.type(kind));
        w.target.put_u64(gen + w.layout.gen_qualname, w.str(U"Job.run"));
        CHECK(w.repr(gen) == "<" + kind + " object Job.run at " + hex(gen) + ">");
        CHECK(w.repr(w.list({gen})) == "[<" + kind + " object Job.run at " + hex(gen) + ">]");
    }
}

TEST_CASE("ObjectRepr: a Python subclass of a builtin shows as the builtin unless it has a __repr__", "[repr]") {
    World w;
    const uint64_t object_type = w.b.type("object");
    const auto subclass = [&](BuiltinType base, bool own_repr) {
        const uint64_t type = w.b.alloc(1024);  // a heap type: its names come after tp_ fields
        w.target.put_u64(type + w.layout.type_name, w.b.c_string("Config"));
        w.target.put_u64(type + w.layout.type_flags, w.layout.type_flag_heap_type);
        w.target.put_u64(type + w.layout.heap_type_name, w.str(U"Config"));
        w.target.put_u64(type + w.layout.heap_type_qualname, w.str(U"Config"));
        w.target.put_u64(type + w.layout.type_dict, own_repr ? w.dict({{w.str(U"__repr__"), w.none}}) : w.dict({}));
        w.target.put_u64(type + w.layout.type_mro, w.tuple({type, w.type(base), object_type}));
        return type;
    };
    const uint64_t config = w.dict({{w.str(U"a"), w.integer(1)}});
    w.target.put_u64(config + w.layout.object_type, subclass(BuiltinType::Dict, false));
    CHECK(w.repr(config) == "{'a': 1}");
    const uint64_t items = w.list({w.integer(1), w.integer(2)});
    w.target.put_u64(items + w.layout.object_type, subclass(BuiltinType::List, false));
    CHECK(w.repr(w.list({items})) == "[[1, 2]]");
    // Its own __repr__ runs Python code, which is not run: not the builtin's text.
    const uint64_t own = w.list({w.integer(3)});
    w.target.put_u64(own + w.layout.object_type, subclass(BuiltinType::List, true));
    CHECK(w.repr(own) == "<Config object at " + hex(own) + ">");
}

TEST_CASE("ObjectRepr: unreadable and corrupt objects show where they are", "[repr]") {
    World w;
    const uint64_t one = w.integer(1);
    CHECK(w.repr(0x5000) == "<unreadable 0x5000>");
    CHECK(w.repr(0) == "<unreadable 0x0>");
    CHECK(w.repr(w.list({one, 0x7000})) == "[1, <unreadable 0x7000>]");
    // A list claiming 2^39 items: only the ones shown are read (and they are not there).
    const uint64_t liar = w.list({one});
    w.target.put<int64_t>(liar + w.layout.var_size, int64_t{1} << 39);
    CHECK(w.repr(liar) == "<unreadable " + hex(liar) + ">");
    // A str of an invalid kind, and one longer than memory holds.
    const uint64_t bad_kind = w.str(U"x");
    w.target.put<uint32_t>(bad_kind + w.layout.unicode_state, 0x20 | (3 << 2));
    CHECK(w.repr(bad_kind) == "<unreadable " + hex(bad_kind) + ">");
    const uint64_t too_long = w.str(U"xyz");
    w.target.put<int64_t>(too_long + w.layout.unicode_length, 1 << 30);
    CHECK(w.repr(too_long) == "<unreadable " + hex(too_long) + ">");
    // A set whose mask is not a power of two less one.
    const uint64_t bad_set = w.set({one});
    w.target.put<int64_t>(bad_set + w.layout.set_mask, 6);
    CHECK(w.repr(bad_set) == "<unreadable " + hex(bad_set) + ">");
}
