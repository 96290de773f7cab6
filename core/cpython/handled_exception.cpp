#include "cpython/handled_exception.hpp"

#include "stackscope/error.hpp"

namespace stackscope {

namespace {

// Generators and coroutines each add an entry; no real chain comes near this.
constexpr int kMaxChain = 10000;
constexpr size_t kMaxMessageChars = 200;

// Exceptions are recognised by their type's flags, which need no type to be known by address.
bool is_exception_class(ObjectReader& objects, uint64_t type) {
    const PythonLayout& l = objects.layout();
    return (objects.memory().read_value<uint64_t>(type + l.type_flags) & l.type_flag_base_exc_subclass) != 0;
}

// An exception instance (exc_value), not None or NULL.
bool is_exception(ObjectReader& objects, uint64_t object) {
    return object != 0 && is_exception_class(objects, objects.type_of(object));
}

// An exception class (exc_type, 3.8-3.10), not None or NULL.
bool is_exception_type(ObjectReader& objects, uint64_t object) {
    return object != 0 && objects.is_class(object) && is_exception_class(objects, object);
}

// str(exc) for the common case of one str (or int) argument; nullopt otherwise.
std::optional<std::string> message_of(ObjectReader& objects, uint64_t exception) {
    const PythonLayout& l = objects.layout();
    const uint64_t args = objects.memory().read_pointer(exception + l.exception_args);
    if (args == 0 || !objects.is_instance_of(args, BuiltinType::Tuple)) return std::nullopt;
    const auto count = objects.memory().read_value<int64_t>(args + l.var_size);
    if (count == 0) return std::string();
    if (count != 1) return std::nullopt;
    const uint64_t arg = objects.tuple_item(args, 0);
    if (objects.is_instance_of(arg, BuiltinType::Str)) return objects.read_str(arg, kMaxMessageChars);
    if (objects.is_instance_of(arg, BuiltinType::Int)) return std::to_string(objects.read_int(arg));
    return std::nullopt;
}

HandledException describe(ObjectReader& objects, uint64_t type, uint64_t value) {
    HandledException out;
    if (value != 0 && !objects.is_class(value)) {
        out.type = objects.class_name(objects.type_of(value));
        try {
            out.message = message_of(objects, value);
        } catch (const Error&) {
            // the type is still worth showing
        }
    } else {
        out.type = objects.class_name(value != 0 ? value : type);
    }
    return out;
}

}  // namespace

std::optional<HandledException> read_handled_exception(ObjectReader& objects, uint64_t tstate) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    try {
        uint64_t item = mem.read_pointer(tstate + l.tstate_exc_info);
        for (int depth = 0; item != 0 && depth < kMaxChain; ++depth) {
            const uint64_t value = mem.read_pointer(item + l.err_item_value);
            const uint64_t type = l.exception_state == ExceptionStateFormat::TypeValueTraceback
                                      ? mem.read_pointer(item + l.err_item_type)
                                      : 0;
            const bool has_value = is_exception(objects, value);
            if (has_value || is_exception_type(objects, type)) return describe(objects, type, has_value ? value : 0);
            item = mem.read_pointer(item + l.err_item_previous);
        }
    } catch (const Error&) {}
    return std::nullopt;
}

}  // namespace stackscope
