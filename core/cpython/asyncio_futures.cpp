#include "cpython/asyncio_futures.hpp"

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// The fut_state values of the C Future (Modules/_asynciomodule.c).
constexpr int32_t kStatePending = 0;
constexpr int32_t kStateCancelled = 1;
constexpr int32_t kStateFinished = 2;

std::string state_name(FutureState state) {
    switch (state) {
        case FutureState::Pending: return "pending";
        case FutureState::Cancelled: return "cancelled";
        case FutureState::Finished: return "finished";
    }
    return "pending";
}

// Python's repr of a str without escapes worth the name: quotes as repr() picks them.
std::string quoted(const std::string& text) {
    const char quote = text.find('\'') != std::string::npos && text.find('"') == std::string::npos ? '"' : '\'';
    std::string out(1, quote);
    for (const char c : text) {
        if (c == quote || c == '\\') out += '\\';
        out += c;
    }
    return out + quote;
}

}  // namespace

const AsyncioFutures::Classes& AsyncioFutures::classes() {
    if (classes_) return *classes_;
    Classes c;
    const auto look_up = [&](std::string_view module, std::string_view name) -> uint64_t {
        try {
            const auto found = objects_.module_global(module, name);
            return found && objects_.is_class(*found) ? *found : 0;
        } catch (const Error&) {
            return 0;
        }
    };
    c.c_future = look_up("_asyncio", "Future");
    c.c_task = look_up("_asyncio", "Task");
    c.py_future = look_up("asyncio.futures", "_PyFuture");
    c.py_task = look_up("asyncio.tasks", "_PyTask");
    return *(classes_ = c);
}

std::optional<FutureInfo> AsyncioFutures::read(uint64_t object) {
    const Classes& c = classes();
    const uint64_t type = objects_.type_of(object);
    const auto is = [&](uint64_t cls) { return cls != 0 && objects_.is_subclass(type, cls); };
    std::optional<FutureInfo> info;
    if (is(c.c_task)) info = read_c(object, true);
    else if (is(c.c_future)) info = read_c(object, false);
    else if (is(c.py_task)) info = read_python(object, true);
    else if (is(c.py_future)) info = read_python(object, false);
    // The C classes are named by the module dict that found them: their tp_name lives in
    // _asyncio's .rodata, which a core lacks.
    if (info && type == c.c_task) info->class_name = "Task";
    if (info && type == c.c_future) info->class_name = "Future";
    return info;
}

FutureInfo AsyncioFutures::read_c(uint64_t object, bool is_task) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    FutureInfo f;
    f.is_task = is_task;
    f.class_name = objects_.type_name(objects_.type_of(object));
    switch (mem.read_value<int32_t>(object + l.future_state)) {
        case kStatePending: f.state = FutureState::Pending; break;
        case kStateCancelled: f.state = FutureState::Cancelled; break;
        case kStateFinished: f.state = FutureState::Finished; break;
        default: throw bad_data("the future at " + hex(object) + " has an invalid state", object);
    }
    if (!is_task) return f;
    f.task_coro = mem.read_pointer(object + l.task_coro);
    if (const uint64_t name = mem.read_pointer(object + l.task_name)) {
        // From 3.12 an automatic name is kept as its number until get_name() asks for it.
        if (objects_.is_instance_of(name, BuiltinType::Int))
            f.task_name = "Task-" + std::to_string(objects_.read_int(name));
        else f.task_name = objects_.read_str(name, 1024);
    }
    return f;
}

FutureInfo AsyncioFutures::read_python(uint64_t object, bool is_task) {
    FutureInfo f;
    f.is_task = is_task;
    f.class_name = objects_.type_name(objects_.type_of(object));
    const auto state = objects_.attribute_or_class_default(object, "_state");
    const std::string text = state ? objects_.read_str(*state, 64) : "";
    if (text == "PENDING") f.state = FutureState::Pending;
    else if (text == "CANCELLED") f.state = FutureState::Cancelled;
    else if (text == "FINISHED") f.state = FutureState::Finished;
    else throw bad_data("the future at " + hex(object) + " has an invalid _state", object);
    if (!is_task) return f;
    if (const auto coro = objects_.attribute(object, "_coro")) f.task_coro = *coro;
    if (const auto name = objects_.attribute_or_class_default(object, "_name"))
        f.task_name = objects_.read_str(*name, 1024);
    return f;
}

std::string AsyncioFutures::describe(const FutureInfo& future) {
    std::string out = "<" + future.class_name + " " + state_name(future.state);
    if (future.is_task) out += " name=" + quoted(future.task_name);
    return out + ">";
}

}  // namespace stackscope
