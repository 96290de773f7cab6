#include "cpython/asyncio_repr.hpp"

#include <algorithm>
#include <vector>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// Futures and Tasks shown inside one another (wait_for=, a result, an argument), at most; one
// deeper is `...`. Every text that nests them is cut by reprlib to 80 characters or fewer, of
// which no level below the eighth can reach the ends.
constexpr size_t kMaxFutureNesting = 16;
// functools.partial objects nested in one callback, and __wrapped__ links unwrapped.
constexpr int kMaxWrapping = 16;
// A callback's arguments shown (positional, then keyword), at most.
constexpr size_t kMaxArguments = 16;
// A builtin method's name (PyMethodDef.ml_name, a C string).
constexpr size_t kMaxMethodName = 256;
// Task names repr() quotes without looking at them further, up to this many characters.
constexpr size_t kMaxPlainName = 1024;

// Marks what is being shown for as long as it lives.
template <typename Shown>
class ShownWhile {
public:
    ShownWhile(std::vector<Shown>& shown, Shown what) : shown_(shown) { shown_.push_back(what); }
    ~ShownWhile() { shown_.pop_back(); }
    ShownWhile(const ShownWhile&) = delete;
    ShownWhile& operator=(const ShownWhile&) = delete;

private:
    std::vector<Shown>& shown_;
};

const char* state_word(FutureState state) {
    switch (state) {
        case FutureState::Pending: return "pending";
        case FutureState::Cancelled: return "cancelled";
        case FutureState::Finished: return "finished";
    }
    return "pending";
}

}  // namespace

std::optional<std::string> AsyncioRepr::repr(uint64_t object, const ValueReprs& values, Parts parts) {
    const auto info = futures_.read(object);
    if (!info) return std::nullopt;
    return future_repr(object, *info, values, parts);
}

// base_futures._future_repr_info and base_tasks._task_repr_info: the state, a Task's name,
// coroutine and waited future, the result or exception, then the done-callbacks.
std::string AsyncioRepr::future_repr(uint64_t object, const FutureInfo& info, const ValueReprs& values, Parts parts) {
    if (recurses(object)) {
        if (objects_.layout().future_repr_guard == FutureReprGuard::Whole) return "...";  // recursive_repr
        throw ReprRaises{};
    }
    const auto& shown_before = in_repr();
    if (std::count_if(shown_before.begin(), shown_before.end(), [](const Shown& s) { return !s.result; }) >=
        static_cast<std::ptrdiff_t>(kMaxFutureNesting))
        return "...";
    const ShownWhile<Shown> shown(in_repr(), {object, false});
    const FutureDetails d = futures_.details(object, info);
    // Appended in place: a repr per task and per leaf, 20,000 of them for 10,000 tasks.
    std::string out;
    out.reserve(128);
    out += '<';
    out += info.class_name;
    out += ' ';
    out += d.cancelling ? "cancelling" : state_word(info.state);
    if (info.is_task) {
        out += " name=";
        append_task_name(out, d.name, info, values);
        out += " coro=<";
        append_coroutine(out, d.coro);
        out += '>';
        if (d.waiter != 0 && parts == Parts::All) {
            const std::optional<std::string> waited = repr(d.waiter, values, parts);
            out += " wait_for=";
            out += waited ? *waited : values.full(d.waiter);
        }
    }
    if (d.exception != 0) {
        out += " exception=";
        out += values.full(d.exception);
    } else if (info.state == FutureState::Finished) {
        out += " result=";
        const auto& shown_now = in_repr();
        const bool result_shown = std::any_of(shown_now.begin(), shown_now.end(),
                                              [&](const Shown& s) { return s.object == object && s.result; });
        if (result_shown) {
            out += "...";  // to 3.10: base_futures._repr_running
        } else {
            const ShownWhile<Shown> shown_result(in_repr(), {object, true});
            out += values.limited(d.result);
        }
    }
    if (d.callback_count > 0 && parts == Parts::All) {
        out += ' ';
        append_callbacks(out, d, values);
    }
    out += '>';
    return out;
}

// Whether a repr of `object` is being built already, and would show it again: from 3.11
// reprlib.recursive_repr stops it there; to 3.10 only a result being shown stops it, so a repr
// met again with no result shown since (through wait_for= or an exception) recurses until
// CPython raises RecursionError.
bool AsyncioRepr::recurses(uint64_t object) {
    const std::vector<Shown>& shown = in_repr();
    const bool whole = objects_.layout().future_repr_guard == FutureReprGuard::Whole;
    for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
        if (it->result && !whole) return false;
        if (it->object == object && !it->result) return true;
    }
    return false;
}

// From 3.12 a C task named automatically keeps the number N of "Task-N" until get_name().
void AsyncioRepr::append_task_name(std::string& out, uint64_t name, const FutureInfo& info, const ValueReprs& values) {
    if (name == 0) {
        out += "None";
        return;
    }
    // Most names are printable ASCII without quotes or backslashes: repr() only quotes them.
    const auto append_plain = [&out](const std::string& text) {
        const bool plain = text.size() <= kMaxPlainName && std::all_of(text.begin(), text.end(), [](char c) {
                               return c >= 0x20 && c < 0x7f && c != '\'' && c != '\\';
                           });
        if (!plain) return false;
        out += '\'';
        out += text;
        out += '\'';
        return true;
    };
    // A C task's name was read with it, as its int's "Task-N" or its str (longer ones cut and
    // marked, which makes them not plain).
    if (!info.python_class && info.is_task) {
        if (append_plain(info.task_name)) return;
    } else if (objects_.is_instance_of(name, BuiltinType::Int)) {
        out += "'Task-";
        out += std::to_string(objects_.read_int(name));
        out += '\'';
        return;
    } else if (objects_.is_instance_of(name, BuiltinType::Str)) {
        if (append_plain(objects_.read_str(name, kMaxPlainName + 1))) return;
    }
    out += values.full(name);
}

// base_futures._format_callbacks.
void AsyncioRepr::append_callbacks(std::string& out, const FutureDetails& d, const ValueReprs& values) {
    out += "cb=[";
    append_callback(out, d.first_callback, values);
    if (d.callback_count > 2) {
        out += ", <";
        out += std::to_string(d.callback_count - 2);
        out += " more>";
    }
    if (d.callback_count >= 2) {
        out += ", ";
        append_callback(out, d.last_callback, values);
    }
    out += ']';
}

void AsyncioRepr::append_callback(std::string& out, uint64_t callback, const ValueReprs& values) {
    // A builtin method (Task.task_wakeup, every sleeping task's) is no partial and has no
    // source: its name and "()".
    if (objects_.is_builtin_function(callback)) {
        append_builtin_method_name(out, callback);
        out += "()";
        return;
    }
    out += callback_repr(callback, values);
}

// format_helpers._format_callback_source(callback, ()): its name and arguments, and where a
// Python function is defined.
std::string AsyncioRepr::callback_repr(uint64_t callback, const ValueReprs& values) {
    // _format_callback: a partial shows its function called with the partial's arguments,
    // followed by the (empty) arguments of each call around it: `f(1, key='k')()`.
    std::string arguments = "()";
    std::string suffix;
    uint64_t func = callback;
    for (int i = 0; i < kMaxWrapping && partials_.is_partial(func); ++i) {
        const PythonLayout& l = objects_.layout();
        RemoteMemory& mem = objects_.memory();
        suffix = arguments + suffix;
        arguments = arguments_repr(mem.read_pointer(func + l.partial_args), mem.read_pointer(func + l.partial_keywords),
                                   values);
        func = mem.read_pointer(func + l.partial_func);
    }
    std::string out = callback_name(func, values) + arguments + suffix;
    if (const auto source = callback_source(callback)) out += " at " + *source;
    return out;
}

// format_helpers._format_args_and_kwargs.
std::string AsyncioRepr::arguments_repr(uint64_t args, uint64_t keywords, const ValueReprs& values) {
    if (!objects_.layout().future_repr_shows_arguments) return "()";
    std::vector<std::string> items;
    if (args != 0 && objects_.is_instance_of(args, BuiltinType::Tuple)) {
        const auto size = objects_.memory().read_value<int64_t>(args + objects_.layout().var_size);
        for (int64_t i = 0; i < std::min<int64_t>(size, kMaxArguments); ++i)
            items.push_back(values.limited(objects_.tuple_item(args, static_cast<uint64_t>(i))));
    }
    if (keywords != 0 && objects_.is_instance_of(keywords, BuiltinType::Dict)) {
        for (const auto& entry : objects_.dict_items(keywords, kMaxArguments - items.size()))
            items.push_back(objects_.read_str(entry.key, 1024) + "=" + values.limited(entry.value));
    }
    std::string out = "(";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    return out + ")";
}

// The callback's __qualname__, else repr(callback) (_format_callback).
std::string AsyncioRepr::callback_name(uint64_t func, const ValueReprs& values) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    if (objects_.is_instance_of(func, BuiltinType::Method)) func = mem.read_pointer(func + l.method_func);
    if (objects_.is_instance_of(func, BuiltinType::Function))
        return objects_.read_str(mem.read_pointer(func + l.func_qualname), 1024);
    if (objects_.is_builtin_function(func)) {
        std::string out;
        append_builtin_method_name(out, func);
        return out;
    }
    return values.full(func);
}

// builtin_function_or_method.__qualname__: the method's name, after its self's class unless it
// is bound to a module (or nothing).
void AsyncioRepr::append_builtin_method_name(std::string& out, uint64_t func) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    const uint64_t def = mem.read_pointer(func + l.cfunction_method_def);
    const uint64_t self = mem.read_pointer(func + l.cfunction_self);
    if (self == 0) {
        out += method_name(def);
        return;
    }
    const uint64_t self_type = objects_.type_of(self);
    if (objects_.is_class_type(self_type)) {
        out += objects_.class_name(self);
        out += '.';
        out += method_name(def);
        return;
    }
    // The name is the same for every self of one type: each sleeping task's wakeup is one.
    const BoundMethodKey key{def, self_type};
    auto known = bound_method_names_.find(key);
    if (known == bound_method_names_.end()) {
        std::string name = objects_.types().match(self_type, BuiltinType::Module) == TypeMatch::Yes
                               ? method_name(def)
                               : objects_.class_name(self_type) + "." + method_name(def);
        known = bound_method_names_.emplace(key, std::move(name)).first;
    }
    out += known->second;
}

// A PyMethodDef is static: its name is read once.
const std::string& AsyncioRepr::method_name(uint64_t def) {
    auto known = method_names_.find(def);
    if (known == method_names_.end()) {
        const PythonLayout& l = objects_.layout();
        known = method_names_
                    .emplace(def, objects_.read_c_string(objects_.memory().read_pointer(def + l.method_def_name),
                                                         kMaxMethodName))
                    .first;
    }
    return known->second;
}

// format_helpers._get_function_source: where a Python function (unwrapped, or a partial's)
// is defined, as `file:line`.
std::optional<std::string> AsyncioRepr::callback_source(uint64_t callback) {
    // A builtin method (Task.task_wakeup, every sleeping task's) has no __wrapped__ and no
    // source: neither a partial nor an object with a __dict__.
    if (objects_.is_builtin_function(callback)) return std::nullopt;
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    uint64_t func = callback;
    for (int i = 0; i < kMaxWrapping; ++i) {
        if (partials_.is_partial(func)) {
            func = mem.read_pointer(func + l.partial_func);
            continue;
        }
        const auto wrapped = objects_.attribute(func, "__wrapped__");  // inspect.unwrap
        if (!wrapped) break;
        func = *wrapped;
    }
    if (!objects_.is_instance_of(func, BuiltinType::Function)) return std::nullopt;
    const auto where = frames_.definition_of(mem.read_pointer(func + l.func_code));
    return where.filename + ":" + std::to_string(where.first_line);
}

// coroutines._format_coroutine: `name() running at file:line` while it has a frame, `name()
// done, defined at file:line` after.
void AsyncioRepr::append_coroutine(std::string& out, uint64_t coro) {
    const auto kind = coro != 0 ? generators_.kind_of(coro) : std::nullopt;
    if (!kind) {
        out += '<';
        out += coro != 0 ? objects_.type_name(objects_.type_of(coro)) : "NoneType";
        out += " without __name__>()";
        return;
    }
    const GeneratorInfo info = generators_.read(coro, *kind);
    out += info.qualname;
    out += "()";
    if (info.frame != 0) {
        const auto where = frames_.location(info.frame);
        out += " running at ";
        out += where.filename;
        out += ':';
        if (where.line) out += std::to_string(*where.line);
        else out += "None";
        return;
    }
    const auto where = frames_.definition_of(generators_.code_of(coro));
    out += " done, defined at ";
    out += where.filename;
    out += ':';
    out += std::to_string(where.first_line);
}

}  // namespace stackscope
