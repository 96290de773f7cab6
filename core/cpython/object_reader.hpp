#pragma once
// Reads CPython objects (str, bytes, dict, type names) out of target memory, with every
// pointer and size treated as untrusted.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cpython/builtin_types.hpp"
#include "cpython/python_layout.hpp"
#include "cpython/read_cache.hpp"
#include "target/remote_memory.hpp"

namespace stackscope {

// Caches, each for one extraction (the objects they describe are immutable): tp_name and
// class names by type address, and the str objects seen as dict keys, by their text.
class ObjectReader {
public:
    ObjectReader(RemoteMemory& memory, const PythonLayout& layout, const BuiltinTypes& types)
        : memory_(memory), layout_(layout), types_(types), strs_(memory), shared_key_names_(memory) {}

    RemoteMemory& memory() const { return memory_; }
    const PythonLayout& layout() const { return layout_; }
    const BuiltinTypes& types() const { return types_; }

    uint64_t type_of(uint64_t object) {
        // Inline: every object read asks for its type first, about 25 times a task in W2.
        if (object == 0 || object % 8 != 0) [[unlikely]]
            throw_invalid_object(object);
        const uint64_t type = memory_.read_pointer(object + layout_.object_type);
        if (type == 0 || type % 8 != 0) [[unlikely]]
            throw_invalid_type(object);
        return type;
    }
    // Whether the object's type is the builtin `type` (exactly, not a subclass), by address;
    // Unknown when that type's address was not learned.
    TypeMatch match(uint64_t object, BuiltinType type) { return types_.match(type_of(object), type); }
    // match() == Yes.
    bool is_instance_of(uint64_t object, BuiltinType type) { return match(object, type) == TypeMatch::Yes; }
    // Whether the object is exactly of the builtin type: by the type's address where it was
    // learned, else by its tp_name (a target read without symbols learns only some types).
    bool is_instance_or_named(uint64_t object, BuiltinType type, std::string_view tp_name);
    // Throws bad_data when the object is not of that type (nor of a subclass), and an
    // UnsupportedRuntime error when the type is not known in this target.
    void require(uint64_t object, BuiltinType type);
    // A builtin function or method: builtin_function_or_method, or 3.9+'s builtin_method (a
    // method that takes its defining class, METH_METHOD: 3.12+ Future.set_result), which
    // extends it.
    bool is_builtin_function(uint64_t object);
    // Throws bad_data only when the object is known not to be of that type: where the type is
    // not known (a core without its binaries), the caller's bounded reads check the shape.
    void require_unless_unknown(uint64_t object, BuiltinType type);
    // Whether `type` is a subclass of the builtin `base` (not `base` itself).
    bool is_builtin_subclass(uint64_t type, BuiltinType base);

    // The main interpreter's sys.modules: its builtins module names the static types whose
    // tp_name is unreadable (read only when one is).
    void set_modules_dict(uint64_t dict) { modules_dict_ = dict; }

    // A str object as UTF-8; throws bad_data when `object` is not a readable str.
    std::string read_str(uint64_t object, size_t max_chars = 64 * 1024);
    // The same, for a str that no other object shares (a task's name): not kept for later.
    std::string read_unshared_str(uint64_t object, size_t max_chars);
    // A NUL-terminated C string (a tp_name, a PyMethodDef's ml_name) of at most `max` bytes;
    // throws unreadable when it is not readable or not terminated within them.
    std::string read_c_string(uint64_t address, size_t max = 256);
    // A bytes object's contents; throws bad_data when not a readable bytes object or too large.
    std::vector<uint8_t> read_bytes(uint64_t object, size_t max_size = 4 << 20);

    // Item `index` of a tuple; throws bad_data when not a tuple or out of range.
    uint64_t tuple_item(uint64_t tuple, uint64_t index);
    // A class's __qualname__ (heap types) or the last part of its tp_name (static types);
    // `<type at 0x...>` when a static type's name is unreadable (its binary is missing).
    const std::string& class_name(uint64_t type);
    // A static type's tp_name; without its binary, the name the builtins or types module gives the
    // class; nullopt when neither can tell.
    const std::optional<std::string>& static_type_name(uint64_t type);
    // type.__name__: a heap type's ht_name, else as class_name() says.
    std::string type_name(uint64_t type);
    // Whether `object` is a class (its type is `type` or a metaclass).
    bool is_class(uint64_t object);
    // Whether instances of `type` are classes (it is `type` or a metaclass).
    bool is_class_type(uint64_t type);
    // Whether `type` is `base` or a subclass of it (by its __mro__).
    bool is_subclass(uint64_t type, uint64_t base);
    // The class name object.__repr__ shows: `module.Qualname` for a class defined in Python
    // (without `builtins.`), a static type's tp_name (`_asyncio.FutureIter`, `list_iterator`).
    std::string repr_name(uint64_t type);
    // `<module.Type object at 0x...>`, as object.__repr__ shows it.
    std::string default_repr(uint64_t object);
    // sys.modules[module].<name> of the main interpreter; nullopt when either is absent.
    std::optional<uint64_t> module_global(std::string_view module, std::string_view name);

    // An int object's value; throws bad_data when not an int or when it does not fit 64 bits.
    int64_t read_int(uint64_t object);

    struct DictEntry {
        uint64_t key = 0;
        uint64_t value = 0;
    };
    // The live (key, value) pairs of a dict in insertion order: all, or the first `max_entries`.
    std::vector<DictEntry> dict_items(uint64_t dict, size_t max_entries = SIZE_MAX);
    // The first `max` items of a tuple (`tuple`) or list, and of a set or frozenset in table
    // order. The caller has checked the type; sizes are checked for plausibility.
    std::vector<uint64_t> sequence_items(uint64_t object, bool tuple, size_t max);
    std::vector<uint64_t> set_items(uint64_t set, size_t max);
    // ob_size, used or ma_used: a container's length, checked for plausibility.
    int64_t checked_size(uint64_t object, Offset field);
    // The value of a str key in a dict; nullopt when absent.
    std::optional<uint64_t> dict_get(uint64_t dict, std::string_view key);
    // An instance attribute stored in the object's __dict__ (managed or not); nullopt when absent.
    std::optional<uint64_t> attribute(uint64_t object, std::string_view name);
    // The attribute as plain lookup finds a data value: the instance's __dict__, then each
    // class's of its __mro__ (a class-level default such as asyncio's Future._state).
    std::optional<uint64_t> attribute_or_class_default(uint64_t object, std::string_view name);

private:
    [[noreturn]] static void throw_invalid_object(uint64_t object);
    [[noreturn]] static void throw_invalid_type(uint64_t object);
    std::string read_tp_name(uint64_t type);
    // `count` characters of a str's data as UTF-8.
    std::string read_str_chars(uint64_t data, unsigned kind, bool ascii, size_t count);
    std::string read_str_keeping(uint64_t object, size_t max_chars, bool keep);
    std::string read_repr_name(uint64_t type);
    const std::string* static_type_name_from_builtins(uint64_t type);
    std::optional<std::string> builtin_name_by_identity(uint64_t type) const;
    // Entries of a keys object; `values` is the split-table values array or 0. Only the live
    // ones (key and value set), unless `with_empty_values`.
    std::vector<DictEntry> keys_items(uint64_t keys, uint64_t values, size_t max_entries = SIZE_MAX,
                                      bool with_empty_values = false);
    // The value of a str key in a split dict (a shared keys object and an instance's values).
    std::optional<uint64_t> split_dict_get(uint64_t keys, uint64_t values, std::string_view key);
    std::optional<uint64_t> find_str_key(const std::vector<DictEntry>& entries, std::string_view key);

    RemoteMemory& memory_;
    const PythonLayout& layout_;
    const BuiltinTypes& types_;
    uint64_t modules_dict_ = 0;
    std::unordered_map<uint64_t, std::string> static_type_names_;  // from the builtins dict, once needed
    bool static_type_names_loaded_ = false;
    std::unordered_map<uint64_t, std::string> class_names_;              // by type address
    std::unordered_map<uint64_t, std::string> type_names_;               // by type address
    std::unordered_map<uint64_t, std::string> repr_names_;               // by type address
    std::unordered_map<uint64_t, std::optional<std::string>> tp_names_;  // by type address
    uint64_t dict_entries_read_ = 0;                                     // by keys_items(), bounded in all
    uint64_t set_slots_read_ = 0;                                        // by set_items(), bounded in all
    std::unordered_map<uint64_t, bool> builtin_subclasses_;              // is_builtin_subclass(), by type and base
    std::unordered_map<std::string, uint64_t> interned_keys_;            // str objects seen as matching dict keys
    // strs read whole (up to kMaxCachedStr characters), for one read of the target: a str is
    // immutable, but its memory may hold another object once it is freed.
    struct ReadStr {
        std::string text;
        size_t length = 0;  // in characters
    };
    static constexpr size_t kMaxCachedStr = 1024;
    PerReadCache<uint64_t, ReadStr> strs_;
    // The key names of each shared keys object met (a class's instances all use one), by
    // entry; "" for a key that is no readable str. For one read of the target.
    PerReadCache<uint64_t, std::vector<std::string>> shared_key_names_;
};

}  // namespace stackscope
