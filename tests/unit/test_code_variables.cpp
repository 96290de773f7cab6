// Tests for cpython/code_variables.hpp: which slots of a frame show as --locals, with which
// kind, decoded from a code object's names (and, 3.11+, its co_localspluskinds). The inputs are
// what the interpreters themselves give for these functions (co_varnames, co_cellvars,
// co_freevars, co_argcount, co_kwonlyargcount, co_flags; co_localspluskinds read with ctypes
// from the code object on pyenv 3.11.7 / 3.12.1 / 3.13.0 and Debian 3.14 / 3.15):
//
//   def f(a, b, /, c, *args, d, e=1, **kw):
//       x = 1
//       def inner(): return a, x
//       y = [q for q in range(3)]
//   y = [q for q in range(3)]            # at module level (3.12+: q is a hidden fast local)
//
// and the expected kinds are Python's own view: inspect.signature's parameters are the
// arguments (in co_varnames order), co_cellvars the cells, co_freevars the free variables.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "cpython/code_variables.hpp"
#include "cpython/python_layout.hpp"
#include "stackscope/error.hpp"

using stackscope::argument_slots;
using stackscope::CodeVariables;
using stackscope::Error;
using stackscope::LocalKind;
using stackscope::PythonLayout;
using stackscope::variables_from_kinds;
using stackscope::variables_from_separate;

namespace {

using Shown = std::vector<std::tuple<std::string, LocalKind, uint32_t, bool>>;

Shown shown(const CodeVariables& v) {
    Shown out;
    for (const auto& variable : v.shown)
        out.emplace_back(variable.name, variable.kind, variable.slot, variable.in_cell);
    return out;
}

PythonLayout layout(int minor) {
    auto l = stackscope::layout_for(3, minor);
    REQUIRE(l);
    return *l;
}

const std::vector<std::string> kFNames{"a", "b", "c", "d", "e", "args", "kw", "inner", "y", "x"};
constexpr uint32_t kFFlags = 0xf;  // CO_OPTIMIZED | CO_NEWLOCALS | CO_VARARGS | CO_VARKEYWORDS

// f's variables as every version shows them: a (captured) and x are cells.
const Shown kFShown311{{"a", LocalKind::Arg, 0, true},    {"b", LocalKind::Arg, 1, false},
                       {"c", LocalKind::Arg, 2, false},   {"d", LocalKind::Arg, 3, false},
                       {"e", LocalKind::Arg, 4, false},   {"args", LocalKind::Arg, 5, false},
                       {"kw", LocalKind::Arg, 6, false},  {"inner", LocalKind::Local, 7, false},
                       {"y", LocalKind::Local, 8, false}, {"x", LocalKind::Cell, 9, true}};

}  // namespace

TEST_CASE(
    "code variables: the arguments are the positional and keyword-only ones and the varargs and varkeywords slots") {
    const PythonLayout l = layout(13);
    CHECK(argument_slots(3, 2, kFFlags, l) == 7);
    CHECK(argument_slots(3, 2, 0x3, l) == 5);
    CHECK(argument_slots(0, 0, 0x4, l) == 1);
    CHECK(argument_slots(0, 0, 0x8, l) == 1);
    CHECK_THROWS_AS(argument_slots(-1, 0, 0, l), Error);
    CHECK_THROWS_AS(argument_slots(0, -5, 0, l), Error);
}

TEST_CASE("code variables 3.8-3.10: locals then cells then free variables and a captured argument once from its cell") {
    // 3.10's f: co_varnames ('a','b','c','d','e','args','kw','inner','y'), co_cellvars ('a','x').
    const std::vector<std::string> varnames{"a", "b", "c", "d", "e", "args", "kw", "inner", "y"};
    const CodeVariables v = variables_from_separate(varnames, {"a", "x"}, {}, 7);
    CHECK(v.slot_names == std::vector<std::string>{"a", "b", "c", "d", "e", "args", "kw", "inner", "y", "a", "x"});
    CHECK(shown(v) == Shown{{"a", LocalKind::Arg, 9, true},
                            {"b", LocalKind::Arg, 1, false},
                            {"c", LocalKind::Arg, 2, false},
                            {"d", LocalKind::Arg, 3, false},
                            {"e", LocalKind::Arg, 4, false},
                            {"args", LocalKind::Arg, 5, false},
                            {"kw", LocalKind::Arg, 6, false},
                            {"inner", LocalKind::Local, 7, false},
                            {"y", LocalKind::Local, 8, false},
                            {"x", LocalKind::Cell, 10, true}});

    // inner: co_varnames (), co_freevars ('a', 'x').
    CHECK(shown(variables_from_separate({}, {}, {"a", "x"}, 0)) ==
          Shown{{"a", LocalKind::Free, 0, true}, {"x", LocalKind::Free, 1, true}});
    // A local that shares a cell's name but is not an argument cannot happen; a cell named
    // like a later local stays a cell of its own.
    CHECK(shown(variables_from_separate({"p", "q"}, {"q"}, {"z"}, 1)) == Shown{{"p", LocalKind::Arg, 0, false},
                                                                               {"q", LocalKind::Local, 1, false},
                                                                               {"q", LocalKind::Cell, 2, true},
                                                                               {"z", LocalKind::Free, 3, true}});
    CHECK_THROWS_AS(variables_from_separate({"a"}, {}, {}, 2), Error);
}

TEST_CASE(
    "code variables 3.11-3.13: kinds LOCAL 0x20 and CELL 0x40 and FREE 0x80 with a captured argument in its own slot") {
    const std::vector<uint8_t> kinds{0x60, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x40};
    for (int minor : {11, 13}) {
        const CodeVariables v = variables_from_kinds(kFNames, kinds, 7, layout(minor));
        CHECK(v.slot_names == kFNames);
        CHECK(shown(v) == kFShown311);
    }
    CHECK(shown(variables_from_kinds({"a", "x"}, std::vector<uint8_t>{0x80, 0x80}, 0, layout(12))) ==
          Shown{{"a", LocalKind::Free, 0, true}, {"x", LocalKind::Free, 1, true}});
    // 3.12+: a comprehension variable a lambda captures is a cell that is also a local (0x60).
    CHECK(shown(variables_from_kinds({"w"}, std::vector<uint8_t>{0x60}, 0, layout(12))) ==
          Shown{{"w", LocalKind::Cell, 0, true}});
}

TEST_CASE("code variables 3.14+: the CO_FAST_ARG bits agree with the argument count") {
    // f on 3.14 / 3.15: ARG_POS 0x02, ARG_KW 0x04, ARG_VAR 0x08 on the arguments.
    const std::vector<uint8_t> kinds{0x62, 0x22, 0x26, 0x24, 0x24, 0x2a, 0x2c, 0x20, 0x20, 0x40};
    for (int minor : {14, 15}) {
        const PythonLayout l = layout(minor);
        const uint32_t arguments = argument_slots(3, 2, kFFlags, l);
        CHECK(shown(variables_from_kinds(kFNames, kinds, arguments, l)) == kFShown311);
        for (uint32_t i = 0; i < kinds.size(); ++i) CHECK(((kinds[i] & 0x0e) != 0) == (i < arguments));
    }
}

TEST_CASE("code variables 3.12+: hidden slots of inlined comprehensions in module and class bodies are left out") {
    // Module `y = [q for q in range(3)]`: co_varnames ('q',) with kind 0x30 (HIDDEN | LOCAL).
    const CodeVariables v = variables_from_kinds({"q"}, std::vector<uint8_t>{0x30}, 0, layout(12));
    CHECK(v.slot_names == std::vector<std::string>{"q"});
    CHECK(v.shown.empty());
    // 3.11 has no CO_FAST_HIDDEN: the bit means nothing there.
    CHECK(layout(11).local_kind_hidden == 0);
    for (int minor : {12, 13, 14, 15}) CHECK(layout(minor).local_kind_hidden == 0x10);
}

TEST_CASE("code variables: kinds that do not match the names or more arguments than variables are bad data") {
    CHECK_THROWS_AS(variables_from_kinds({"a", "b"}, std::vector<uint8_t>{0x20}, 0, layout(13)), Error);
    CHECK_THROWS_AS(variables_from_kinds({"a"}, std::vector<uint8_t>{0x20}, 2, layout(13)), Error);
}
