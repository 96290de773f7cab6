#include "cpython/code_variables.hpp"

#include <algorithm>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

uint32_t argument_slots(int32_t argcount, int32_t kwonlyargcount, uint32_t flags, const PythonLayout& layout) {
    if (argcount < 0 || kwonlyargcount < 0)
        throw bad_data("a code object claims " + std::to_string(argcount) + " positional and " +
                       std::to_string(kwonlyargcount) + " keyword-only arguments");
    uint64_t count = uint64_t{static_cast<uint32_t>(argcount)} + static_cast<uint32_t>(kwonlyargcount);
    if (flags & layout.code_flag_varargs) ++count;
    if (flags & layout.code_flag_varkeywords) ++count;
    if (count > static_cast<uint64_t>(CodeVariablesReader::kMaxVariables))
        throw bad_data("a code object claims " + std::to_string(count) + " arguments");
    return static_cast<uint32_t>(count);
}

CodeVariables variables_from_separate(const std::vector<std::string>& varnames,
                                      const std::vector<std::string>& cellvars,
                                      const std::vector<std::string>& freevars, uint32_t arguments) {
    if (arguments > varnames.size())
        throw bad_data("a code object claims " + std::to_string(arguments) + " arguments but has " +
                       std::to_string(varnames.size()) + " local names");
    CodeVariables out;
    out.slot_names = varnames;
    out.slot_names.insert(out.slot_names.end(), cellvars.begin(), cellvars.end());
    out.slot_names.insert(out.slot_names.end(), freevars.begin(), freevars.end());
    const auto cells_start = static_cast<uint32_t>(varnames.size());
    const auto frees_start = static_cast<uint32_t>(cells_start + cellvars.size());
    std::vector<bool> cell_is_argument(cellvars.size(), false);
    for (uint32_t i = 0; i < varnames.size(); ++i) {
        CodeVariable v{varnames[i], i < arguments ? LocalKind::Arg : LocalKind::Local, i, false};
        const auto cell = std::find(cellvars.begin(), cellvars.end(), varnames[i]);
        if (i < arguments && cell != cellvars.end()) {
            const auto index = static_cast<uint32_t>(cell - cellvars.begin());
            cell_is_argument[index] = true;
            v.slot = cells_start + index;
            v.in_cell = true;
        }
        out.shown.push_back(std::move(v));
    }
    for (uint32_t i = 0; i < cellvars.size(); ++i) {
        if (!cell_is_argument[i]) out.shown.push_back({cellvars[i], LocalKind::Cell, cells_start + i, true});
    }
    for (uint32_t i = 0; i < freevars.size(); ++i)
        out.shown.push_back({freevars[i], LocalKind::Free, frees_start + i, true});
    return out;
}

CodeVariables variables_from_kinds(const std::vector<std::string>& names, std::span<const uint8_t> kinds,
                                   uint32_t arguments, const PythonLayout& layout) {
    if (kinds.size() != names.size())
        throw bad_data("a code object has " + std::to_string(names.size()) + " variable names but " +
                       std::to_string(kinds.size()) + " kinds");
    if (arguments > names.size())
        throw bad_data("a code object claims " + std::to_string(arguments) + " arguments but has " +
                       std::to_string(names.size()) + " variables");
    CodeVariables out;
    out.slot_names = names;
    for (uint32_t i = 0; i < names.size(); ++i) {
        const uint8_t kind = kinds[i];
        if (layout.local_kind_hidden && (kind & layout.local_kind_hidden)) continue;
        CodeVariable v{names[i], LocalKind::Local, i, (kind & (layout.local_kind_cell | layout.local_kind_free)) != 0};
        if (i < arguments) v.kind = LocalKind::Arg;
        else if (kind & layout.local_kind_free) v.kind = LocalKind::Free;
        else if (kind & layout.local_kind_cell) v.kind = LocalKind::Cell;
        out.shown.push_back(std::move(v));
    }
    return out;
}

std::vector<std::string> CodeVariablesReader::names(uint64_t code, Offset tuple_field) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const uint64_t tuple = mem.read_pointer(code + static_cast<uint64_t>(tuple_field));
    const auto count = mem.read_value<int64_t>(tuple + static_cast<uint64_t>(l.var_size));
    if (count < 0 || count > kMaxVariables)
        throw bad_data("the code object at " + hex(code) + " claims " + std::to_string(count) + " variables");
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
        out.push_back(objects_.read_str(objects_.tuple_item(tuple, static_cast<uint64_t>(i)), kMaxName));
    return out;
}

std::vector<std::string> CodeVariablesReader::slot_names(uint64_t code) {
    const PythonLayout& l = objects_.layout();
    if (l.code_variables == CodeVariablesFormat::LocalsPlus) return names(code, l.code_localsplusnames);
    std::vector<std::string> out = names(code, l.code_varnames);
    for (const Offset field : {l.code_cellvars, l.code_freevars}) {
        std::vector<std::string> more = names(code, field);
        out.insert(out.end(), more.begin(), more.end());
    }
    if (out.size() > static_cast<size_t>(kMaxVariables)) throw bad_data("implausible variable count");
    return out;
}

CodeVariables CodeVariablesReader::read(uint64_t code) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const auto flags = mem.read_value<uint32_t>(code + static_cast<uint64_t>(l.code_flags));
    const uint32_t arguments =
        argument_slots(mem.read_value<int32_t>(code + static_cast<uint64_t>(l.code_argcount)),
                       mem.read_value<int32_t>(code + static_cast<uint64_t>(l.code_kwonlyargcount)), flags, l);
    CodeVariables out;
    switch (l.code_variables) {
        case CodeVariablesFormat::Separate: {
            const std::vector<std::string> varnames = names(code, l.code_varnames);
            // f_localsplus puts the cells after co_nlocals slots: the locals must be exactly those.
            const auto nlocals = mem.read_value<int32_t>(code + static_cast<uint64_t>(l.code_nlocals));
            if (nlocals < 0 || static_cast<size_t>(nlocals) != varnames.size())
                throw bad_data("the code object at " + hex(code) + " claims " + std::to_string(nlocals) +
                               " locals for " + std::to_string(varnames.size()) + " names");
            out = variables_from_separate(varnames, names(code, l.code_cellvars), names(code, l.code_freevars),
                                          arguments);
            break;
        }
        case CodeVariablesFormat::LocalsPlus: {
            const std::vector<std::string> all = names(code, l.code_localsplusnames);
            const std::vector<uint8_t> kinds = objects_.read_bytes(
                mem.read_pointer(code + static_cast<uint64_t>(l.code_localspluskinds)), kMaxVariables);
            out = variables_from_kinds(all, kinds, arguments, l);
            break;
        }
    }
    out.optimized = (flags & l.code_flag_optimized) != 0;
    if (out.slot_names.size() > static_cast<size_t>(kMaxVariables)) throw bad_data("implausible variable count");
    return out;
}

}  // namespace stackscope
