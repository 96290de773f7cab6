#pragma once
// The builtin types the reader needs to recognise, by identity: each is known by its address
// in the target (from a symbol, or learned structurally by type_anchors.hpp), never by its
// tp_name, which a core without its binary lacks and which any class can borrow.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stackscope {

enum class BuiltinType : uint8_t {
    Type,
    Object,
    Code,
    NoneType,
    Bool,
    Int,
    Str,
    Bytes,
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    Float,
    Function,
    Method,
    BuiltinMethod,
    Cell,
    Module,
    Frame,
    Generator,
    Coroutine,
    AsyncGenerator,
    AsyncGenASend,     // what agen.asend() and agen.__anext__() return
    AsyncGenAThrow,    // what agen.athrow() and agen.aclose() return
    CoroutineWrapper,  // what coro.__await__() returns
};
inline constexpr size_t kBuiltinTypeCount = static_cast<size_t>(BuiltinType::CoroutineWrapper) + 1;

// type(obj).__name__ of its instances: "code", "NoneType", "builtin_function_or_method", ...
std::string_view builtin_type_name(BuiltinType type);
// The exported symbol of the type object ("PyCode_Type"): the same in every version 3.8+.
std::string_view builtin_type_symbol(BuiltinType type);
// The builtin type whose instances are named `name` (its tp_name), if any.
std::optional<BuiltinType> builtin_type_named(std::string_view name);

// Whether an object is an instance of a builtin type: a known state when the type's address
// could not be learned (Unknown), which each caller handles.
enum class TypeMatch { Yes, No, Unknown };

// Where each builtin type lives in one target. Lifetime: one extraction (types never move).
class BuiltinTypes {
public:
    bool known(BuiltinType type) const { return addresses_[static_cast<size_t>(type)] != 0; }
    void set(BuiltinType type, uint64_t address) { addresses_[static_cast<size_t>(type)] = address; }
    // Whether an object whose type is `object_type` is an instance of `type` (exactly).
    TypeMatch match(uint64_t object_type, BuiltinType type) const {
        const uint64_t a = addresses_[static_cast<size_t>(type)];
        if (!a) return TypeMatch::Unknown;
        return object_type == a ? TypeMatch::Yes : TypeMatch::No;
    }

private:
    std::array<uint64_t, kBuiltinTypeCount> addresses_{};
};

class ElfFile;
class Target;

// Sets each builtin type (of `only`, or all when empty) that the runtime's ELF file (at
// `load_bias`) defines a symbol for; without a file, asks the target (a debugger knows
// symbols). Symbols are exact: no guess.
void resolve_builtin_types_by_symbol(BuiltinTypes& types, const Target& target, const ElfFile* file, uint64_t load_bias,
                                     std::span<const BuiltinType> only = {});

}  // namespace stackscope
