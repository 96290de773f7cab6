// builtins.repr() of the objects that are not containers: numbers, strs and bytes, and the
// named objects (functions, methods, classes, modules, exceptions, locks, asyncio futures),
// each as its type's C __repr__ writes it; and upstream's format_funcname.
#include <algorithm>
#include <cstring>

#include "cpython/asyncio_futures.hpp"
#include "cpython/float_repr.hpp"
#include "cpython/object_repr.hpp"
#include "cpython/text_repr.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxName = 1024;  // characters of a name (qualname, module, method name)

}  // namespace

void ObjectRepr::full_named(uint64_t object, Kind kind, Text& out, int depth) {
    RemoteMemory& memory = objects_.memory();
    const PythonLayout& l = objects_.layout();
    switch (kind) {
        case Kind::None: out += U"None"; return;
        case Kind::Bool: out += objects_.read_int(object) ? U"True" : U"False"; return;
        case Kind::Int: {
            uint64_t digits = 0;
            const auto text = int_text(object, &digits);
            if (!text) throw Failed{};  // ValueError: exceeds the limit for integer string conversion
            out += from_ascii(*text);
            return;
        }
        case Kind::Float: out += from_ascii(float_repr(memory.read_value<double>(object + l.float_value))); return;
        case Kind::Str: {
            out += str_repr(str_text(object, kMaxFullRepr), printable_ranges(l.unicode_database));
            return;
        }
        case Kind::Bytes: {
            const auto size = memory.read_value<int64_t>(object + l.bytes_size);
            if (size < 0) throw bad_data("bytes at " + hex(object) + " has a negative size");
            const size_t shown = static_cast<size_t>(std::min<int64_t>(size, kMaxFullRepr));
            out += bytes_repr(memory.read_bytes(object + l.bytes_data, shown));
            return;
        }
        case Kind::Function: out += function_text(object); return;
        case Kind::BuiltinFunction: out += builtin_function_text(object); return;
        case Kind::Method: {
            // method_repr: the function's __qualname__ (else __name__), and repr(self).
            const uint64_t function = memory.read_pointer(object + l.method_func);
            std::optional<Text> name;
            if (kind_of(function) == Kind::Function) {
                name = str_if_str(memory.read_pointer(function + l.func_qualname));
                if (!name) name = str_if_str(memory.read_pointer(function + l.func_name));
            }
            out += U"<bound method " + name.value_or(U"?") + U" of ";
            full(memory.read_pointer(object + l.method_self), out, depth + 1);
            out += U">";
            return;
        }
        case Kind::Class: out += class_text(object); return;
        case Kind::Module: out += module_text(object); return;
        case Kind::Exception: {
            // BaseException_repr: _PyType_Name(type) and args, one argument without the tuple's parentheses.
            if (exception_group_text(object, out, depth)) return;
            const uint64_t args = memory.read_pointer(object + l.exception_args);
            out += from_utf8(objects_.type_name(objects_.type_of(object)));
            if (args && kind_of(args) == Kind::Tuple && item_count(args, Kind::Tuple) == 1) {
                out += U"(";
                full(objects_.tuple_item(args, 0), out, depth + 1);
                out += U")";
            } else {
                full(args, out, depth + 1);
            }
            return;
        }
        case Kind::Lock:
        case Kind::RLock: out += lock_text(object, kind); return;
        case Kind::Generator: {
            // gen_repr: the type's name and the generator's __qualname__.
            const auto qualname = str_if_str(memory.read_pointer(object + l.gen_qualname));
            if (!qualname) break;
            const auto type_name = objects_.static_type_name(objects_.type_of(object));
            out += U"<" + from_utf8(type_name.value_or("generator")) + U" object " + *qualname +
                   from_ascii(" at " + hex(object) + ">");
            return;
        }
        default: break;
    }
    if (const auto future = asyncio_.repr(object, future_values(depth))) {
        out += from_utf8(*future);
        return;
    }
    out += from_utf8(objects_.default_repr(object));
}

// Future.__repr__: its parts are builtins.repr() of an exception, reprlib.repr() (the
// module's default bounds) of a result and of callback arguments.
AsyncioRepr::ValueReprs ObjectRepr::future_values(int depth) {
    return {[this, depth](uint64_t part) {
                Text text;
                full(part, text, depth + 1);
                return to_utf8(text);
            },
            [this, depth](uint64_t part) { return ObjectRepr(*this, kReprlibDefaults, depth + 1).repr(part); }};
}

std::optional<std::string> ObjectRepr::future_repr(uint64_t object, AsyncioRepr::Parts parts) {
    visits_ = 0;
    try {
        return asyncio_.repr(object, future_values(base_depth_), parts);
    } catch (const Failed&) {
        return std::nullopt;
    } catch (const TooManyVisits&) {
        return std::nullopt;
    }
}

// func_repr: <function QUALNAME at 0x...>.
ObjectRepr::Text ObjectRepr::function_text(uint64_t function) {
    const auto qualname = str_if_str(objects_.memory().read_pointer(function + objects_.layout().func_qualname));
    if (!qualname) throw bad_data("function at " + hex(function) + " has no __qualname__");
    return U"<function " + *qualname + from_ascii(" at " + hex(function) + ">");
}

// meth_repr: a function when m_self is NULL or a module, else a method of m_self's type.
ObjectRepr::Text ObjectRepr::builtin_function_text(uint64_t function) {
    RemoteMemory& memory = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const uint64_t def = memory.read_pointer(function + l.cfunction_method_def);
    const Text name = from_utf8(objects_.read_c_string(memory.read_pointer(def + l.method_def_name), kMaxName));
    const uint64_t self = memory.read_pointer(function + l.cfunction_self);
    if (!self || kind_of(self) == Kind::Module) return U"<built-in function " + name + U">";
    const uint64_t type = objects_.type_of(self);
    const std::string type_name = objects_.static_type_name(type).value_or(objects_.class_name(type));
    return U"<built-in method " + name + U" of " + from_utf8(type_name) + from_ascii(" object at " + hex(self) + ">");
}

// type.__module__: a heap type's __module__, else the tp_name before its last dot, else builtins.
ObjectRepr::Text ObjectRepr::module_of_class(uint64_t type) {
    const PythonLayout& l = objects_.layout();
    const auto flags = objects_.memory().read_value<uint64_t>(type + l.type_flags);
    if (flags & l.type_flag_heap_type) {
        const uint64_t dict = objects_.memory().read_pointer(type + l.type_dict);
        if (dict) {
            if (const auto module = objects_.dict_get(dict, "__module__")) {
                if (auto text = str_if_str(*module)) return *text;
            }
        }
        return U"";
    }
    const auto name = objects_.static_type_name(type);
    if (!name) return U"builtins";
    const size_t dot = name->rfind('.');
    return dot == std::string::npos ? U"builtins" : from_utf8(name->substr(0, dot));
}

ObjectRepr::Text ObjectRepr::qualname_of_class(uint64_t type) { return from_utf8(objects_.class_name(type)); }

// type_repr: <class 'module.Qualname'>, or <class 'tp_name'> for builtins and a class without a module.
ObjectRepr::Text ObjectRepr::class_text(uint64_t type) {
    const Text module = module_of_class(type);
    if (!module.empty() && module != U"builtins") return U"<class '" + module + U"." + qualname_of_class(type) + U"'>";
    const PythonLayout& l = objects_.layout();
    const auto flags = objects_.memory().read_value<uint64_t>(type + l.type_flags);
    // A heap type's tp_name is its __name__ as it was created.
    const std::string name = (flags & l.type_flag_heap_type)
                                 ? objects_.type_name(type)
                                 : objects_.static_type_name(type).value_or(objects_.class_name(type));
    return U"<class '" + from_utf8(name) + U"'>";
}

// ModuleType.__repr__ (importlib's _module_repr_from_spec): from the module's __spec__, else
// its __name__ and __file__.
ObjectRepr::Text ObjectRepr::module_text(uint64_t module) {
    RemoteMemory& memory = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const auto printable = printable_ranges(l.unicode_database);
    const uint64_t dict = memory.read_pointer(module + l.module_dict);
    auto quoted = [&](const Text& text) { return str_repr(text, printable); };
    auto global = [&](std::string_view name) -> std::optional<uint64_t> {
        return dict ? objects_.dict_get(dict, name) : std::nullopt;
    };
    const auto spec = global("__spec__");
    if (spec && kind_of(*spec) == Kind::Other) {
        const auto spec_name = objects_.attribute(*spec, "name");
        const Text name = spec_name ? str_if_str(*spec_name).value_or(U"?") : U"?";
        const auto origin_object = objects_.attribute(*spec, "origin");
        const auto origin = origin_object ? str_if_str(*origin_object) : std::nullopt;
        if (!origin) {
            // 3.8-3.11 ask the loader first: BuiltinImporter.module_repr says (built-in), where the
            // spec of sys (3.8) has no origin; later versions name that origin in the spec.
            const auto loader = global("__loader__");
            if (loader && kind_of(*loader) == Kind::Class) {
                const std::string importer = objects_.class_name(*loader);
                if (importer == "BuiltinImporter") return U"<module " + quoted(name) + U" (built-in)>";
                if (importer == "FrozenImporter") return U"<module " + quoted(name) + U" (frozen)>";
            }
            return U"<module " + quoted(name) + U">";
        }
        const auto has_location = objects_.attribute(*spec, "_set_fileattr");
        if (has_location && kind_of(*has_location) == Kind::Bool && objects_.read_int(*has_location))
            return U"<module " + quoted(name) + U" from " + quoted(*origin) + U">";
        return U"<module " + quoted(name) + U" (" + *origin + U")>";
    }
    const auto name_object = global("__name__");
    const Text name = name_object ? str_if_str(*name_object).value_or(U"?") : U"?";
    if (const auto file = global("__file__")) {
        if (const auto path = str_if_str(*file)) return U"<module " + quoted(name) + U" from " + quoted(*path) + U">";
    }
    return U"<module " + quoted(name) + U">";
}

bool ObjectRepr::exception_group_text(uint64_t group, Text& out, int depth) {
    if (objects_.layout().exception_group_layouts.empty()) return false;
    RemoteMemory& memory = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const uint64_t type = objects_.type_of(group);
    // The builtin BaseExceptionGroup among the type's bases, by its tp_name.
    const uint64_t mro = memory.read_pointer(type + l.type_mro);
    if (!mro || kind_of(mro) != Kind::Tuple) return false;
    constexpr int64_t kMaxMro = 64;
    const int64_t bases = std::min(item_count(mro, Kind::Tuple), kMaxMro);
    uint64_t base = 0;
    for (int64_t k = 0; k < bases && !base; ++k) {
        const uint64_t candidate = objects_.tuple_item(mro, static_cast<uint64_t>(k));
        if (objects_.static_type_name(candidate) == "BaseExceptionGroup") base = candidate;
    }
    if (!base) return false;
    const auto basic_size = memory.read_value<int64_t>(base + l.type_basicsize);
    for (const ExceptionGroupLayout& layout : l.exception_group_layouts) {
        if (layout.basic_size != basic_size) continue;
        if (!layout.own_repr) return false;
        // "%s(%R, %U)": the message, then the kept text, else the exceptions as the list or
        // tuple they were given in (args[1]), from the tuple kept at construction.
        Text exceptions;
        const uint64_t kept = memory.read_pointer(group + layout.exceptions_text);
        if (kept) {
            exceptions = str_text(kept, kMaxFullRepr);
        } else {
            const uint64_t excs = memory.read_pointer(group + layout.exceptions);
            const uint64_t args = memory.read_pointer(group + l.exception_args);
            const bool given_list = kind_of(objects_.tuple_item(args, 1)) == Kind::List;
            if (given_list) {
                exceptions = U"[";
                for (const uint64_t item : sequence_items(excs, Kind::Tuple, kMaxFullRepr / 2)) {
                    if (exceptions.size() > 1) exceptions += U", ";
                    full(item, exceptions, depth + 1);
                }
                exceptions += U"]";
            } else {
                full(excs, exceptions, depth + 1);
            }
        }
        out += from_utf8(objects_.type_name(type)) + U"(";
        full(memory.read_pointer(group + layout.message), out, depth + 1);
        out += U", " + exceptions + U")";
        return true;
    }
    return false;
}

// lock_repr and rlock_repr, for the layout the lock type's size says.
ObjectRepr::Text ObjectRepr::lock_text(uint64_t lock, Kind kind) {
    RemoteMemory& memory = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const uint64_t type = objects_.type_of(lock);
    const auto basic_size = memory.read_value<int64_t>(type + l.type_basicsize);
    const std::string type_name = objects_.static_type_name(type).value_or("_thread.lock");
    if (kind == Kind::Lock) {
        for (const LockLayout& layout : l.lock_layouts) {
            if (layout.basic_size != basic_size) continue;
            const bool locked = memory.read_value<uint8_t>(lock + layout.state) & layout.locked_mask;
            return from_ascii(std::string("<") + (locked ? "locked " : "unlocked ") + type_name + " object at " +
                              hex(lock) + ">");
        }
    } else {
        for (const RLockLayout& layout : l.rlock_layouts) {
            if (layout.basic_size != basic_size) continue;
            const auto owner = memory.read_value<uint64_t>(lock + layout.owner);
            auto count = memory.read_value<uint64_t>(lock + layout.count);
            bool locked = count > 0;
            if (layout.mutex != kAbsent) {
                locked = memory.read_value<uint8_t>(lock + layout.mutex) & layout.locked_mask;
                if (layout.count_is_level) count = locked ? count + 1 : 0;
            }
            return from_ascii(std::string("<") + (locked ? "locked " : "unlocked ") + type_name + " object owner=" +
                              std::to_string(owner) + " count=" + std::to_string(count) + " at " + hex(lock) + ">");
        }
    }
    return from_utf8(objects_.default_repr(lock));
}

std::string ObjectRepr::function_name(uint64_t callable) {
    RemoteMemory& memory = objects_.memory();
    const PythonLayout& l = objects_.layout();
    try {
        const Kind kind = kind_of(callable);
        // f"{module}": a str as it is, None (or a NULL member) as None.
        auto module_text = [&](uint64_t module) -> std::optional<Text> {
            if (!module || kind_of(module) == Kind::None) return U"None";
            return str_if_str(module);
        };
        if (kind == Kind::Method) {
            const uint64_t function = memory.read_pointer(callable + l.method_func);
            std::optional<Text> name;
            const Kind function_kind = kind_of(function);
            if (function_kind == Kind::Function) name = str_if_str(memory.read_pointer(function + l.func_name));
            if (name) return repr(memory.read_pointer(callable + l.method_self)) + "." + to_utf8(*name);
        } else if (kind == Kind::Function) {
            const auto module = module_text(memory.read_pointer(callable + l.func_module));
            const auto qualname = str_if_str(memory.read_pointer(callable + l.func_qualname));
            if (module && qualname) return to_utf8(*module + U"." + *qualname);
        } else if (kind == Kind::BuiltinFunction) {
            // __qualname__: the method name, after the class's qualname when bound to an instance or class.
            const auto module = module_text(memory.read_pointer(callable + l.cfunction_module));
            const uint64_t self = memory.read_pointer(callable + l.cfunction_self);
            const uint64_t def = memory.read_pointer(callable + l.cfunction_method_def);
            Text qualname = from_utf8(objects_.read_c_string(memory.read_pointer(def + l.method_def_name), kMaxName));
            if (self && kind_of(self) != Kind::Module) {
                const uint64_t owner = kind_of(self) == Kind::Class ? self : objects_.type_of(self);
                qualname = qualname_of_class(owner) + U"." + qualname;
            }
            if (module) return to_utf8(*module + U"." + qualname);
        } else if (kind == Kind::Class) {
            return to_utf8(module_of_class(callable) + U"." + qualname_of_class(callable));
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        return "<unreadable " + hex(callable) + ">";
    }
    return repr(callable);
}

}  // namespace stackscope
