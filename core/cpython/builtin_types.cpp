#include "cpython/builtin_types.hpp"

#include <vector>

#include "target/elf_file.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

namespace {

struct BuiltinTypeInfo {
    BuiltinType type;
    std::string_view name;
    std::string_view symbol;
};

// In enum order.
constexpr std::array<BuiltinTypeInfo, kBuiltinTypeCount> kBuiltinTypes{{
    {BuiltinType::Type, "type", "PyType_Type"},
    {BuiltinType::Object, "object", "PyBaseObject_Type"},
    {BuiltinType::Code, "code", "PyCode_Type"},
    {BuiltinType::NoneType, "NoneType", "_PyNone_Type"},
    {BuiltinType::Bool, "bool", "PyBool_Type"},
    {BuiltinType::Int, "int", "PyLong_Type"},
    {BuiltinType::Str, "str", "PyUnicode_Type"},
    {BuiltinType::Bytes, "bytes", "PyBytes_Type"},
    {BuiltinType::Tuple, "tuple", "PyTuple_Type"},
    {BuiltinType::List, "list", "PyList_Type"},
    {BuiltinType::Dict, "dict", "PyDict_Type"},
    {BuiltinType::Set, "set", "PySet_Type"},
    {BuiltinType::FrozenSet, "frozenset", "PyFrozenSet_Type"},
    {BuiltinType::Float, "float", "PyFloat_Type"},
    {BuiltinType::Function, "function", "PyFunction_Type"},
    {BuiltinType::Method, "method", "PyMethod_Type"},
    {BuiltinType::BuiltinMethod, "builtin_function_or_method", "PyCFunction_Type"},
    {BuiltinType::Cell, "cell", "PyCell_Type"},
    {BuiltinType::Module, "module", "PyModule_Type"},
    {BuiltinType::Frame, "frame", "PyFrame_Type"},
    {BuiltinType::Generator, "generator", "PyGen_Type"},
    {BuiltinType::Coroutine, "coroutine", "PyCoro_Type"},
    {BuiltinType::AsyncGenerator, "async_generator", "PyAsyncGen_Type"},
    {BuiltinType::AsyncGenASend, "async_generator_asend", "_PyAsyncGenASend_Type"},
    {BuiltinType::AsyncGenAThrow, "async_generator_athrow", "_PyAsyncGenAThrow_Type"},
    {BuiltinType::CoroutineWrapper, "coroutine_wrapper", "_PyCoroWrapper_Type"},
}};

constexpr bool in_enum_order() {
    for (size_t i = 0; i < kBuiltinTypes.size(); ++i) {
        if (static_cast<size_t>(kBuiltinTypes[i].type) != i) return false;
    }
    return true;
}
static_assert(in_enum_order(), "kBuiltinTypes must list the types in enum order");

}  // namespace

void resolve_builtin_types_by_symbol(BuiltinTypes& types, const Target& target, const ElfFile* file, uint64_t load_bias,
                                     std::span<const BuiltinType> only) {
    std::vector<BuiltinType> wanted(only.begin(), only.end());
    if (wanted.empty()) {
        for (const BuiltinTypeInfo& info : kBuiltinTypes) wanted.push_back(info.type);
    }
    std::vector<std::string_view> symbols;
    for (const BuiltinType type : wanted) symbols.push_back(builtin_type_symbol(type));
    if (file) {
        const auto found = file->symbols(symbols);
        for (size_t i = 0; i < wanted.size(); ++i) {
            if (found[i]) types.set(wanted[i], load_bias + found[i]->value);
        }
        return;
    }
    for (size_t i = 0; i < wanted.size(); ++i) {
        if (const auto address = target.lookup_symbol(symbols[i])) types.set(wanted[i], *address);
    }
}

std::string_view builtin_type_name(BuiltinType type) { return kBuiltinTypes[static_cast<size_t>(type)].name; }

std::string_view builtin_type_symbol(BuiltinType type) { return kBuiltinTypes[static_cast<size_t>(type)].symbol; }

std::optional<BuiltinType> builtin_type_named(std::string_view name) {
    for (const BuiltinTypeInfo& info : kBuiltinTypes) {
        if (info.name == name) return info.type;
    }
    return std::nullopt;
}

}  // namespace stackscope
