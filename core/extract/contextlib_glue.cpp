#include "extract/contextlib_glue.hpp"

#include <algorithm>

#include "cpython/deque_reader.hpp"
#include "cpython/function_closure.hpp"
#include "cpython/generator_reader.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxName = 1024;

// The async method of each sync one, as AsyncExitStack names them.
std::string async_method(const std::string& method) {
    if (method == "enter_context") return "enter_async_context";
    if (method == "push") return "push_async_exit";
    return "push_async_callback";
}

}  // namespace

bool ContextlibGlue::elaborate(Context& context, uint64_t type, ContextElaboration& host) {
    ObjectReader& objects = host.objects();
    if (!generator_manager_base_)
        generator_manager_base_ = objects.module_global("contextlib", "_GeneratorContextManagerBase");
    if (!exit_stack_base_) exit_stack_base_ = objects.module_global("contextlib", "_BaseExitStack");
    if (*generator_manager_base_ && objects.is_subclass(type, **generator_manager_base_)) {
        generator_manager(context, host);
        return true;
    }
    if (*exit_stack_base_ && objects.is_subclass(type, **exit_stack_base_)) {
        exit_stack(context, host);
        return true;
    }
    return false;
}

void ContextlibGlue::generator_manager(Context& context, ContextElaboration& host) {
    ObjectReader& objects = host.objects();
    const uint64_t manager = context.address;
    const auto gen = objects.attribute(manager, "gen");
    if (!gen) throw bad_data("the generator-based manager at " + hex(manager) + " has no generator", manager);
    // An exiting manager's generator frames come next on the stack itself.
    if (!context.is_exiting) context.inner_stack = host.stack_of(*gen);
    // 3.7+ delete func, args and kwds once the manager is entered.
    if (const auto func = objects.attribute(manager, "func")) {
        const auto args = objects.attribute(manager, "args");
        const auto kwds = objects.attribute(manager, "kwds");
        if (!args || !kwds) throw bad_data("the manager at " + hex(manager) + " has func without args and kwds");
        context.description = host.reprs().function_name(*func) + "(" + arguments(*args, *kwds, host) + ")";
        return;
    }
    GeneratorReader generators(objects);
    const auto kind = generators.kind_of(*gen);
    if (!kind) throw bad_data("the manager at " + hex(manager) + " holds no generator", *gen);
    context.description = generators.read(*gen, *kind).qualname + "(...)";
}

void ContextlibGlue::exit_stack(Context& context, ContextElaboration& host) {
    ObjectReader& objects = host.objects();
    const std::string name = context.varname.value_or("_");
    const auto callbacks = objects.attribute(context.address, "_exit_callbacks");
    if (!callbacks) throw bad_data("the exit stack at " + hex(context.address) + " has no _exit_callbacks");
    const std::vector<uint64_t> items = read_deque(objects, *callbacks, kMaxCallbacks);
    std::vector<ContextChild> children;
    children.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        const bool is_sync = objects.read_int(objects.tuple_item(items[i], 0)) != 0;
        const uint64_t callback = objects.tuple_item(items[i], 1);
        const Callback what = callback_of(callback, host);
        Context child;
        child.address = what.manager ? what.manager : callback;
        child.type_name = objects.type_name(objects.type_of(child.address));
        child.is_async = !is_sync;
        child.varname = name + "[" + std::to_string(i) + "]";
        child.start_line = context.start_line;
        child.line_of_item = context.line_of_item;
        host.elaborate(child);
        const std::string tag = !is_sync && what.method == "enter_context" ? "await " : "";
        const std::string inside = !child.description.empty() ? child.description
                                   : !what.argument.empty()   ? what.argument
                                                              : "...";
        child.description = tag + name + "." + (is_sync ? what.method : async_method(what.method)) + "(" + inside + ")";
        children.emplace_back(Boxed<Context>(std::move(child)));
    }
    context.children = std::move(children);
}

// Upstream's cases, in its order: anything with a __self__ (a bound __exit__ pushed by
// enter_context or push(cm), or another bound method pushed by push), callback()'s
// _exit_wrapper, and any other callable pushed by push.
ContextlibGlue::Callback ContextlibGlue::callback_of(uint64_t callback, ContextElaboration& host) {
    ObjectReader& objects = host.objects();
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    if (objects.is_instance_or_named(callback, BuiltinType::Method, "method")) {
        const uint64_t self = mem.read_pointer(callback + static_cast<uint64_t>(l.method_self));
        const auto name = callable_name(mem.read_pointer(callback + static_cast<uint64_t>(l.method_func)), objects);
        if (name == "__exit__" || name == "__aexit__") return {"enter_context", host.reprs().repr(self), self};
        return {"push", host.reprs().function_name(callback), self};  // the child is the method's object
    }
    // Builtin methods and method-wrappers have a __self__ too (None for a C function without one).
    std::optional<uint64_t> self;
    if (objects.is_builtin_function(callback))
        self = mem.read_pointer(callback + static_cast<uint64_t>(l.cfunction_self));
    else if (objects.static_type_name(objects.type_of(callback)) == std::optional<std::string>("method-wrapper"))
        self = mem.read_pointer(callback + static_cast<uint64_t>(l.method_wrapper_self));
    if (self) return {"enter_context", *self ? host.reprs().repr(*self) : "None", *self};
    if (const auto call = wrapped_call(callback, host)) return {"callback", *call, 0};
    return {"push", host.reprs().function_name(callback), 0};
}

// callback(fn, *args, **kwds)'s _exit_wrapper: `module.fn, args..., k=v` from its __wrapped__
// and its closure's `args` and `kwds` cells; nullopt for any other callable.
std::optional<std::string> ContextlibGlue::wrapped_call(uint64_t function, ContextElaboration& host) {
    ObjectReader& objects = host.objects();
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    if (!objects.is_instance_or_named(function, BuiltinType::Function, "function")) return std::nullopt;
    if (callable_name(function, objects) != std::optional<std::string>("_exit_wrapper")) return std::nullopt;
    const uint64_t dict = mem.read_pointer(function + static_cast<uint64_t>(l.func_dict));
    if (!dict) return std::nullopt;
    const auto wrapped = objects.dict_get(dict, "__wrapped__");
    if (!wrapped) return std::nullopt;
    std::optional<uint64_t> args, kwds;
    // ExitStack._create_cb_wrapper's _exit_wrapper closes over `callback`, `args` and `kwds`.
    for (const ClosureVariable& v : closure_variables(objects, function, kMaxLibraryClosureCells)) {
        if (v.name == "args") args = v.value;
        if (v.name == "kwds") kwds = v.value;
    }
    if (!args || !kwds) return std::nullopt;
    const std::string rest = arguments(*args, *kwds, host);
    return host.reprs().function_name(*wrapped) + (rest.empty() ? "" : ", " + rest);
}

// __name__ of a function, or of a method descriptor (a C type's __exit__); nullopt for others.
std::optional<std::string> ContextlibGlue::callable_name(uint64_t callable, ObjectReader& objects) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    if (objects.is_instance_or_named(callable, BuiltinType::Function, "function"))
        return objects.read_str(mem.read_pointer(callable + static_cast<uint64_t>(l.func_name)), kMaxName);
    const auto type = objects.static_type_name(objects.type_of(callable));
    if (type == "method_descriptor" || type == "wrapper_descriptor")
        return objects.read_str(mem.read_pointer(callable + static_cast<uint64_t>(l.descr_name)), kMaxName);
    return std::nullopt;
}

// Upstream's format_funcargs: repr() of each positional argument, then `key=repr(value)`.
std::string ContextlibGlue::arguments(uint64_t args, uint64_t kwds, ContextElaboration& host) {
    ObjectReader& objects = host.objects();
    std::vector<std::string> parts;
    const auto count = objects.memory().read_value<int64_t>(args + static_cast<uint64_t>(objects.layout().var_size));
    objects.require(args, BuiltinType::Tuple);
    bool cut = false;
    for (int64_t i = 0; i < count; ++i) {
        if ((cut = parts.size() == kMaxArguments)) break;
        parts.push_back(host.reprs().repr(objects.tuple_item(args, static_cast<uint64_t>(i))));
    }
    for (const ObjectReader::DictEntry& e : cut ? std::vector<ObjectReader::DictEntry>{} : objects.dict_items(kwds)) {
        if ((cut = parts.size() == kMaxArguments)) break;
        parts.push_back(objects.read_str(e.key, kMaxName) + "=" + host.reprs().repr(e.value));
    }
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    if (cut) out += ", ...";
    return out;
}

}  // namespace stackscope
