#pragma once
// The variables of a code object as its frames hold them: each fast-locals slot's name, and
// which slots show as locals (--locals) with their kind. From co_varnames, co_cellvars and
// co_freevars (3.8-3.10: f_localsplus holds the locals, then the cells, then the free
// variables) or co_localsplusnames and co_localspluskinds (3.11+: one slot per name, a
// captured argument's cell in the argument's own slot). The decoding is pure (unit-tested).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cpython/object_reader.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

struct CodeVariable {
    std::string name;
    LocalKind kind = LocalKind::Local;
    uint32_t slot = 0;     // its index in the frame's localsplus
    bool in_cell = false;  // the slot holds a cell (once made): the value is the cell's contents
};

struct CodeVariables {
    // CO_OPTIMIZED: the variables are the frame's slots. A module or class body keeps its
    // names in a dict (a module's is its globals): nothing is shown for it.
    bool optimized = true;
    std::vector<std::string> slot_names;  // every slot's name, in slot order
    std::vector<CodeVariable> shown;      // arguments, then the other locals, cells and free variables
};

// How many leading variables are arguments: co_argcount (positional-only included) +
// co_kwonlyargcount + one each for *args and **kwargs. The same in every version (3.14's
// CO_FAST_ARG_* kind bits say the same). Throws bad_data for negative counts.
uint32_t argument_slots(int32_t argcount, int32_t kwonlyargcount, uint32_t flags, const PythonLayout& layout);

// CodeVariablesFormat::Separate. A captured argument's slot among the locals is empty: its
// value is in its cell, which co_cellvars names again; it shows once, as an argument.
CodeVariables variables_from_separate(const std::vector<std::string>& varnames,
                                      const std::vector<std::string>& cellvars,
                                      const std::vector<std::string>& freevars, uint32_t arguments);

// CodeVariablesFormat::LocalsPlus: `kinds` has one byte per name; hidden slots are left out.
// Throws bad_data when the counts disagree.
CodeVariables variables_from_kinds(const std::vector<std::string>& names, std::span<const uint8_t> kinds,
                                   uint32_t arguments, const PythonLayout& layout);

// Reads the code object's names (bounded: a code object with more than kMaxVariables slots is
// bad data).
class CodeVariablesReader {
public:
    static constexpr int64_t kMaxVariables = 1 << 14;
    static constexpr size_t kMaxName = 256;

    explicit CodeVariablesReader(ObjectReader& objects) : objects_(objects) {}

    CodeVariables read(uint64_t code);
    // Every slot's name, in slot order (what read(code).slot_names holds, without the kinds).
    std::vector<std::string> slot_names(uint64_t code);

private:
    std::vector<std::string> names(uint64_t code, Offset tuple_field);

    ObjectReader& objects_;
};

}  // namespace stackscope
