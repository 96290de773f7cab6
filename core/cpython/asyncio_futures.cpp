#include "cpython/asyncio_futures.hpp"

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// The fut_state values of the C Future (Modules/_asynciomodule.c).
constexpr int32_t kStatePending = 0;
constexpr int32_t kStateCancelled = 1;
constexpr int32_t kStateFinished = 2;
// Done-callbacks a future's list may hold before it is garbage, far above any real one.
constexpr int64_t kMaxCallbacks = 1 << 20;
// Done-callbacks listed by one extraction in all: they are kept with each task's links, and a
// hostile target can give each of thousands of tasks the longest list allowed.
constexpr size_t kMaxCallbacksInAll = size_t{1} << 23;

}  // namespace

const AsyncioFutures::Classes& AsyncioFutures::classes() {
    if (classes_ && classes_->complete) return *classes_;
    Classes c;
    const auto look_up = [&](std::string_view module, std::string_view name) -> uint64_t {
        try {
            const auto found = objects_.module_global(module, name);
            return found && objects_.is_class(*found) ? *found : 0;
        } catch (const Error&) {
            // Unreadable now (sys.modules resized under a --no-block read, say): asked again.
            c.complete = false;
            return 0;
        }
    };
    c.c_future = look_up("_asyncio", "Future");
    c.c_task = look_up("_asyncio", "Task");
    c.py_future = look_up("asyncio.futures", "_PyFuture");
    c.py_task = look_up("asyncio.tasks", "_PyTask");
    return *(classes_ = c);
}

const FutureInfo* AsyncioFutures::read(uint64_t object) {
    const std::optional<FutureInfo>* known = infos_.find(object);
    if (!known) known = &infos_.insert(object, read_uncached(object));
    return known->has_value() ? &**known : nullptr;
}

std::optional<FutureInfo> AsyncioFutures::read_uncached(uint64_t object) {
    const Classes& c = classes();
    const uint64_t type = objects_.type_of(object);
    Kind kind = Kind::None;
    if (const auto known = kinds_.find(type); known != kinds_.end()) {
        kind = known->second;
    } else {
        // Classes do not change their bases: each type is placed once per extraction (once
        // the classes it is placed by could all be read).
        const auto is = [&](uint64_t cls) { return cls != 0 && objects_.is_subclass(type, cls); };
        kind = is(c.c_task)      ? Kind::CTask
               : is(c.c_future)  ? Kind::CFuture
               : is(c.py_task)   ? Kind::PyTask
               : is(c.py_future) ? Kind::PyFuture
                                 : Kind::None;
        if (c.complete) kinds_.emplace(type, kind);
    }
    std::optional<FutureInfo> info;
    switch (kind) {
        case Kind::CTask: info = read_c(object, true); break;
        case Kind::CFuture: info = read_c(object, false); break;
        case Kind::PyTask: info = read_python(object, true); break;
        case Kind::PyFuture: info = read_python(object, false); break;
        case Kind::None: break;
    }
    if (!info) return info;
    if (kind == Kind::PyTask || kind == Kind::PyFuture) info->python_class = true;
    // The C classes are named by the module dict that found them: their tp_name lives in
    // _asyncio's .rodata, which a core lacks.
    info->class_name = type == c.c_task ? "Task" : type == c.c_future ? "Future" : objects_.type_name(type);
    return info;
}

FutureInfo AsyncioFutures::read_c(uint64_t object, bool is_task) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    FutureInfo f;
    f.is_task = is_task;
    switch (mem.read_value<int32_t>(object + l.future_state)) {
        case kStatePending: f.state = FutureState::Pending; break;
        case kStateCancelled: f.state = FutureState::Cancelled; break;
        case kStateFinished: f.state = FutureState::Finished; break;
        default: throw bad_data("the future at " + hex(object) + " has an invalid state", object);
    }
    f.loop = mem.read_pointer(object + l.future_loop);
    if (!is_task) return f;
    f.task_coro = mem.read_pointer(object + l.task_coro);
    if (const uint64_t name = mem.read_pointer(object + l.task_name)) {
        // From 3.12 an automatic name is kept as its number until get_name() asks for it.
        if (objects_.is_instance_of(name, BuiltinType::Int))
            f.task_name = "Task-" + std::to_string(objects_.read_int(name));
        else f.task_name = objects_.read_unshared_str(name, 1024);
    }
    return f;
}

FutureInfo AsyncioFutures::read_python(uint64_t object, bool is_task) {
    FutureInfo f;
    f.is_task = is_task;
    const auto state = objects_.attribute_or_class_default(object, "_state");
    const std::string text = state ? objects_.read_str(*state, 64) : "";
    if (text == "PENDING") f.state = FutureState::Pending;
    else if (text == "CANCELLED") f.state = FutureState::Cancelled;
    else if (text == "FINISHED") f.state = FutureState::Finished;
    else throw bad_data("the future at " + hex(object) + " has an invalid _state", object);
    if (const auto loop = objects_.attribute(object, "_loop")) f.loop = *loop;
    if (!is_task) return f;
    if (const auto coro = objects_.attribute(object, "_coro")) f.task_coro = *coro;
    if (const auto name = objects_.attribute_or_class_default(object, "_name"))
        f.task_name = objects_.read_str(*name, 1024);
    return f;
}

FutureDetails AsyncioFutures::details(uint64_t object, const FutureInfo& info) {
    return info.python_class ? details_python(object, info) : details_c(object, info);
}

FutureDetails AsyncioFutures::details_c(uint64_t object, const FutureInfo& info) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    FutureDetails d;
    if (info.state == FutureState::Finished) {
        d.exception = mem.read_pointer(object + l.future_exception);
        if (d.exception == 0) d.result = mem.read_pointer(object + l.future_result);
    }
    // Future._callbacks: fut_callback0 first, then the list.
    if (const uint64_t first = mem.read_pointer(object + l.future_callback0)) {
        d.callback_count = 1;
        d.first_callback = d.last_callback = first;
    }
    if (const uint64_t list = mem.read_pointer(object + l.future_callbacks)) add_callbacks(object, list, d);
    if (info.is_task) {
        d.waiter = mem.read_pointer(object + l.task_fut_waiter);
        d.name = mem.read_pointer(object + l.task_name);
        d.coro = mem.read_pointer(object + l.task_coro);
        d.cancelling = info.state == FutureState::Pending && mem.read_value<int32_t>(object + l.task_cancelling) != 0;
    }
    return d;
}

FutureDetails AsyncioFutures::details_python(uint64_t object, const FutureInfo& info) {
    FutureDetails d;
    const auto not_none = [&](std::optional<uint64_t> value) -> uint64_t {
        return value && !objects_.is_instance_of(*value, BuiltinType::NoneType) ? *value : 0;
    };
    if (info.state == FutureState::Finished) {
        d.exception = not_none(objects_.attribute_or_class_default(object, "_exception"));
        if (d.exception == 0) d.result = objects_.attribute_or_class_default(object, "_result").value_or(0);
    }
    if (const uint64_t list = not_none(objects_.attribute(object, "_callbacks"))) add_callbacks(object, list, d);
    if (info.is_task) {
        d.waiter = not_none(objects_.attribute_or_class_default(object, "_fut_waiter"));
        d.name = not_none(objects_.attribute_or_class_default(object, "_name"));
        d.coro = not_none(objects_.attribute_or_class_default(object, "_coro"));
        // Task.cancelling() from 3.11 (_num_cancels_requested); _must_cancel before.
        auto count = objects_.attribute_or_class_default(object, "_num_cancels_requested");
        if (!count) count = objects_.attribute_or_class_default(object, "_must_cancel");
        d.cancelling = info.state == FutureState::Pending && count && objects_.read_int(*count) != 0;
    }
    return d;
}

std::vector<uint64_t> AsyncioFutures::callbacks(uint64_t object, const FutureInfo& info) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    std::vector<uint64_t> out;
    uint64_t list = 0;
    if (info.python_class) {
        const auto value = objects_.attribute(object, "_callbacks");
        if (value && !objects_.is_instance_of(*value, BuiltinType::NoneType)) list = *value;
    } else {
        if (const uint64_t first = mem.read_pointer(object + l.future_callback0)) out.push_back(first);
        list = mem.read_pointer(object + l.future_callbacks);
    }
    if (list == 0) return out;
    objects_.require_unless_unknown(list, BuiltinType::List);
    const std::vector<uint64_t> entries = objects_.sequence_items(list, false, kMaxCallbacks);
    if (entries.size() > kMaxCallbacksInAll - callbacks_listed_)
        throw bad_data("more than " + std::to_string(kMaxCallbacksInAll) + " done-callbacks listed in all", object);
    callbacks_listed_ += entries.size();
    for (const uint64_t entry : entries) out.push_back(callback_of(entry));
    return out;
}

uint64_t AsyncioFutures::first_callback(uint64_t object, const FutureInfo& info) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    uint64_t list = 0;
    if (info.python_class) {
        const auto value = objects_.attribute(object, "_callbacks");
        if (value && !objects_.is_instance_of(*value, BuiltinType::NoneType)) list = *value;
    } else {
        if (const uint64_t first = mem.read_pointer(object + l.future_callback0)) return first;
        list = mem.read_pointer(object + l.future_callbacks);
    }
    if (list == 0) return 0;
    objects_.require_unless_unknown(list, BuiltinType::List);
    const auto items = objects_.sequence_items(list, false, 1);
    return items.empty() ? 0 : callback_of(items.front());
}

// The callbacks of a list of (callback, context) tuples, after those `d` holds.
void AsyncioFutures::add_callbacks(uint64_t future, uint64_t list, FutureDetails& d) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    objects_.require_unless_unknown(list, BuiltinType::List);
    const auto size = mem.read_value<int64_t>(list + l.var_size);
    if (size < 0 || size > kMaxCallbacks)
        throw bad_data("the callback list of the future at " + hex(future) + " has a bad size", list);
    if (size == 0) return;
    const uint64_t items = mem.read_pointer(list + l.list_items);
    if (d.callback_count == 0) d.first_callback = callback_of(mem.read_pointer(items));
    d.last_callback = callback_of(mem.read_pointer(items + 8 * static_cast<uint64_t>(size - 1)));
    d.callback_count += static_cast<size_t>(size);
}

uint64_t AsyncioFutures::callback_of(uint64_t entry) {
    // A (callback, context) tuple since 3.7.
    return objects_.tuple_item(entry, 0);
}

}  // namespace stackscope
