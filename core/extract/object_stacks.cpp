#include "extract/object_stacks.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// Links of one await chain; a real one is a few dozen deep (each link is a Python frame).
constexpr size_t kMaxAwaitLinks = 10000;

// The links of one chain met so far: a real chain is a few links, searched in a small array;
// a long (garbage) one is searched in a hash set, so that the walk stays linear.
class AwaitLinks {
public:
    // False when `link` was met before.
    bool insert(uint64_t link) {
        if (!large_.empty() || count_ == kSmall) {
            if (large_.empty()) large_.insert(small_.begin(), small_.end());
            return large_.insert(link).second;
        }
        const auto end = small_.begin() + static_cast<std::ptrdiff_t>(count_);
        if (std::find(small_.begin(), end, link) != end) return false;
        small_[count_++] = link;
        return true;
    }
    size_t size() const { return large_.empty() ? count_ : large_.size(); }

private:
    static constexpr size_t kSmall = 32;
    std::array<uint64_t, kSmall> small_{};
    size_t count_ = 0;
    std::unordered_set<uint64_t> large_;
};

StackRootKind root_kind(GeneratorKind kind) {
    switch (kind) {
        case GeneratorKind::Generator: return StackRootKind::Generator;
        case GeneratorKind::Coroutine: return StackRootKind::Coroutine;
        case GeneratorKind::AsyncGenerator: return StackRootKind::AsyncGenerator;
    }
    return StackRootKind::Object;
}

}  // namespace

ObjectStack ObjectStackReader::read(uint64_t address) {
    ObjectStack out;
    out.address = address;
    out.stack.root = StackRoot{StackRootKind::Object, address, "", std::nullopt, std::nullopt};
    try {
        out.type = objects_.type_name(objects_.type_of(address));
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        // Null, misaligned, unmapped or no type: what was asked for is no object.
        out.stack.error =
            ExtractionError{ErrorKind::BadInput, "no readable object at " + hex(address) + ": " + e.what(),
                            e.address().value_or(address)};
        return out;
    }
    try {
        read_root(address, out);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;  // a bug: exit 6, not one object's error
        out.stack.error = ExtractionError::from(e);
        // Named as object.__repr__ names it when it failed before read_root knew better.
        if (out.stack.root.description.empty()) {
            try {
                out.stack.root.description = objects_.default_repr(address);
            } catch (const Error& unnamed) {
                if (unnamed.kind() == ErrorKind::Internal) throw;
            }
        }
    }
    return out;
}

void ObjectStackReader::read_root(uint64_t address, ObjectStack& out) {
    StackRoot& root = out.stack.root;
    if (const auto kind = generators_.kind_of(address)) {
        const GeneratorInfo info = generators_.read(address, *kind);
        out.type = std::string(generator_kind_name(*kind));  // known by identity, also when tp_name is not
        root.kind = root_kind(*kind);
        root.description =
            "<" + std::string(generator_kind_name(*kind)) + " object " + info.qualname + " at " + hex(address) + ">";
        follow(address, out, true);
        return;
    }
    if (is_wrapper(address)) {
        root.description = objects_.default_repr(address);
        follow(address, out, true);
        return;
    }
    if (const auto future = futures_.read(address)) {
        out.type = future->class_name;
        std::optional<std::string> header;
        if (future->is_task && purpose_ == Purpose::Tasks)
            header = x_.reprs().future_repr(address, AsyncioRepr::Parts::WithoutWaits);
        root.description = header ? *header : x_.reprs().repr_of_future(address);
        if (!future->is_task) {
            out.stack.leaf = StackLeaf{address, future->class_name, root.description};
            return;
        }
        root.kind = StackRootKind::Task;
        const uint64_t coro = future->task_coro;
        if (coro && !objects_.is_instance_of(coro, BuiltinType::NoneType)) follow(coro, out, false);
        return;
    }
    if (read_thread_object(address, out)) return;
    throw Error(ErrorKind::BadInput,
                "the object at " + hex(address) + " is a " + out.type.value_or("?") +
                    ", not a generator, coroutine, async generator, Task, Future or Thread",
                address);
}

// A threading.Thread: the stack of the thread whose pthread_t is its ident.
bool ObjectStackReader::read_thread_object(uint64_t address, ObjectStack& out) {
    const auto thread_class = objects_.module_global("threading", "Thread");
    if (!thread_class || !objects_.is_subclass(objects_.type_of(address), *thread_class)) return false;
    std::string name = "?";
    if (const auto value = objects_.attribute(address, "_name")) name = objects_.read_str(*value, 1024);
    std::optional<int64_t> ident;
    if (const auto value = objects_.attribute(address, "_ident")) {
        if (!objects_.is_instance_of(*value, BuiltinType::NoneType)) ident = objects_.read_int(*value);
    }
    bool daemon = false;
    try {
        if (const auto value = objects_.attribute(address, "_daemonic")) daemon = objects_.read_int(*value) != 0;
    } catch (const Error&) {
        // shown as not a daemon
    }
    const Thread* running = nullptr;
    for (const Thread& t : threads_) {
        if (ident && t.pthread_id && static_cast<int64_t>(*t.pthread_id) == *ident) running = &t;
    }
    const char* status = !ident ? "initial" : running ? "started" : "stopped";
    std::string description = "<" + *out.type + "(" + name + ", " + status + (daemon ? " daemon" : "");
    if (ident) description += " " + std::to_string(static_cast<uint64_t>(*ident));
    out.stack.root = StackRoot{StackRootKind::Thread, address, description + ")>", std::nullopt, std::nullopt};
    if (running) {
        out.stack.root.thread_state = running->thread_state;
        out.stack.root.thread_tid = running->tid;
        out.stack.frames = running->stack.frames;
        out.stack.error = running->stack.error;
    }
    return true;
}

void ObjectStackReader::follow(uint64_t object, ObjectStack& out, bool record_state) {
    AwaitLinks visited;
    bool first = record_state;
    // A waiting coroutine is most often two frames deep or more (its own, and the library
    // call it waits in): room for two saves moving the first when the second comes.
    out.stack.frames.reserve(out.stack.frames.size() + 2);
    for (uint64_t current = object; current != 0;) {
        if (!visited.insert(current)) throw bad_data("the await chain loops at " + hex(current), current);
        if (visited.size() > kMaxAwaitLinks)
            throw bad_data("the await chain is longer than " + std::to_string(kMaxAwaitLinks) + " links", current);
        if (const auto kind = generators_.kind_of(current)) {
            claim(current, out.address);
            const GeneratorInfo info = generators_.read(current, *kind);
            // A pure-Python Future (or Task) awaited: its __await__ generator stands for it, as
            // the C Future's FutureIter does.
            if (purpose_ == Purpose::Tasks && current != object && info.state == GeneratorState::Suspended) {
                if (const auto future = future_awaited_by(info)) {
                    set_leaf(*future, out);
                    return;
                }
            }
            if (first) out.state = info.state;
            first = false;
            switch (info.state) {
                case GeneratorState::Finished: return;
                case GeneratorState::Running: attach_running_frames(info.frame, out); return;
                case GeneratorState::Created:
                case GeneratorState::Suspended: break;
            }
            if (!x_.frames().read(info.frame, out.stack.frames))
                throw bad_data("the frame of the generator at " + hex(current) + " runs no code object", current);
            current = info.awaiting;
            continue;
        }
        if (is_wrapper(current)) {
            const uint64_t wrapped = objects_.memory().read_pointer(current + objects_.layout().wrapper_target);
            if (wrapped == 0) {
                set_leaf(current, out);
                return;
            }
            current = wrapped;
            continue;
        }
        set_leaf(current, out);
        return;
    }
}

void ObjectStackReader::claim(uint64_t generator, uint64_t root) {
    if (chains_ != Chains::Exclusive) return;
    if (chain_roots_.empty() || chain_roots_.back() != root) chain_roots_.push_back(root);
    const uint32_t owner = chain_owners_.insert(generator, static_cast<uint32_t>(chain_roots_.size() - 1));
    if (owner != IdIndex::kAbsent && chain_roots_[owner] != root)
        throw bad_data(
            "the generator at " + hex(generator) + " is on the await chain of " + hex(chain_roots_[owner]) + " too",
            generator);
}

// The Future whose `__await__` (asyncio.futures' Future.__await__, also __iter__) the
// generator runs: its `self`.
std::optional<uint64_t> ObjectStackReader::future_awaited_by(const GeneratorInfo& info) {
    if (info.kind != GeneratorKind::Generator || info.qualname != "Future.__await__" || info.frame == 0)
        return std::nullopt;
    const PythonLayout& l = objects_.layout();
    try {
        const uint64_t self = objects_.memory().read_pointer(info.frame + static_cast<uint64_t>(l.frame_localsplus)) &
                              ~l.stackref_tag_mask;
        if (self && futures_.read(self)) return self;
    } catch (const Error&) {
        // not a future we can read: the generator is shown as it is
    }
    return std::nullopt;
}

// async_generator_asend / athrow and coroutine_wrapper: each stands for the generator it wraps.
bool ObjectStackReader::is_wrapper(uint64_t object) {
    const uint64_t object_type = objects_.type_of(object);
    // What a type says does not change within an extraction; a task's stack asks twice.
    auto known = wrapper_types_.find(object_type);
    if (known == wrapper_types_.end()) known = wrapper_types_.emplace(object_type, wrapper_type(object_type)).first;
    switch (known->second) {
        case WrapperType::Yes: return true;
        case WrapperType::No: return false;
        case WrapperType::IfWrapsGenerator: break;
    }
    // Types without an exported symbol (athrow and coroutine_wrapper from 3.13; Debian's
    // stripped 3.14/3.15): a static type of one of these names whose first field holds a
    // generator is one; without the name (a core without its binaries), the shape alone.
    const uint64_t wrapped = objects_.memory().read_pointer(object + objects_.layout().wrapper_target);
    try {
        return wrapped != 0 && generators_.kind_of(wrapped).has_value();
    } catch (const Error&) {
        return false;
    }
}

ObjectStackReader::WrapperType ObjectStackReader::wrapper_type(uint64_t type) {
    bool unknown = false;
    for (const BuiltinType wrapper :
         {BuiltinType::AsyncGenASend, BuiltinType::AsyncGenAThrow, BuiltinType::CoroutineWrapper}) {
        switch (objects_.types().match(type, wrapper)) {
            case TypeMatch::Yes: return WrapperType::Yes;
            case TypeMatch::No: break;
            case TypeMatch::Unknown: unknown = true; break;
        }
    }
    if (!unknown) return WrapperType::No;
    const PythonLayout& l = objects_.layout();
    if (objects_.memory().read_value<uint64_t>(type + l.type_flags) & l.type_flag_heap_type) return WrapperType::No;
    if (const auto name = objects_.static_type_name(type)) {
        const auto builtin = builtin_type_named(*name);
        if (builtin != BuiltinType::AsyncGenASend && builtin != BuiltinType::AsyncGenAThrow &&
            builtin != BuiltinType::CoroutineWrapper) {
            return WrapperType::No;
        }
    }
    return WrapperType::IfWrapsGenerator;
}

// asyncio's FutureIter ({object header; FutureObj *future}), shown as the Future it iterates.
// Its type is not exported (and a heap type from 3.12): it is recognised by its shape.
const FutureInfo* ObjectStackReader::future_iterated_by(uint64_t object) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    const uint64_t type = objects_.type_of(object);
    // A type's shape and name do not change within an extraction; the leaves of one type are many.
    auto shaped = future_iterator_types_.find(type);
    if (shaped == future_iterator_types_.end()) {
        const bool is = mem.read_value<int64_t>(type + l.type_basicsize) == l.wrapper_target + 8 &&
                        (!(mem.read_value<uint64_t>(type + l.type_flags) & l.type_flag_heap_type) ||
                         objects_.class_name(type) == "FutureIter");
        shaped = future_iterator_types_.emplace(type, is).first;
    }
    if (!shaped->second) return nullptr;
    const uint64_t future = mem.read_pointer(object + l.wrapper_target);
    if (future == 0) return nullptr;
    try {
        return futures_.read(future);
    } catch (const Error&) {
        return nullptr;
    }
}

void ObjectStackReader::set_leaf(uint64_t object, ObjectStack& out) {
    if (const auto iterated = future_iterated_by(object)) {
        const uint64_t future = objects_.memory().read_pointer(object + objects_.layout().wrapper_target);
        out.stack.leaf = StackLeaf{future, iterated->class_name, x_.reprs().repr_of_future(future)};
        return;
    }
    if (const auto future = futures_.read(object)) {
        out.stack.leaf = StackLeaf{object, future->class_name, x_.reprs().repr_of_future(object)};
        return;
    }
    out.stack.leaf = StackLeaf{object, objects_.type_name(objects_.type_of(object)), objects_.default_repr(object)};
}

// A running generator's frames are those of the thread that runs it, from its own frame in.
void ObjectStackReader::attach_running_frames(uint64_t frame, ObjectStack& out) {
    for (const Thread& t : threads_) {
        const auto& frames = t.stack.frames;
        const auto at = std::find_if(frames.begin(), frames.end(), [&](const Frame& f) { return f.address == frame; });
        if (at == frames.end()) continue;
        out.stack.frames.insert(out.stack.frames.end(), at, frames.end());
        out.stack.root.thread_state = t.thread_state;
        out.stack.root.thread_tid = t.tid;
        return;
    }
    throw Error(ErrorKind::InconsistentData,
                "the generator is running, but no thread's stack holds its frame at " + hex(frame), frame);
}

}  // namespace stackscope
