#pragma once
// repr() of an asyncio Future or Task as CPython prints it (asyncio.base_futures and
// base_tasks: state, result or exception, done-callbacks, a Task's name, coroutine and the
// future it waits for), rebuilt from memory. Not shown: `created at` (asyncio's debug mode
// keeps a traceback of FrameSummary slots, which this does not read).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpython/asyncio_futures.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/generator_reader.hpp"
#include "cpython/partial_types.hpp"

namespace stackscope {

// Thrown where the target's repr() would raise (RecursionError; ValueError for an int over the
// digit limit): reprlib shows such an object as `<Class instance at 0x...>`.
struct ReprRaises {};

class AsyncioRepr {
public:
    using ValueRepr = std::function<std::string(uint64_t)>;
    // How the parts that are other objects are shown: repr(x) of an exception or of a waited
    // object that is no future, reprlib.repr(x) of a result and of callback arguments.
    struct ValueReprs {
        ValueRepr full;
        ValueRepr limited;
    };
    enum class Parts {
        All,
        // Without `wait_for=` and `cb=`: a task tree's header, whose leaf shows what it waits for.
        WithoutWaits,
    };

    AsyncioRepr(ObjectReader& objects, FrameReader& frames, AsyncioFutures& futures)
        : objects_(objects), frames_(frames), futures_(futures), generators_(objects) {}
    // One whose reprs run inside a repr of `outer`'s (a reprlib.repr() of a Future's result):
    // a Future being shown by either is shown as asyncio shows a repr of itself.
    AsyncioRepr(ObjectReader& objects, FrameReader& frames, AsyncioFutures& futures, AsyncioRepr& outer)
        : objects_(objects),
          frames_(frames),
          futures_(futures),
          generators_(objects),
          outer_in_repr_(&outer.in_repr()) {}

    // The repr of `object` when it is a Future or Task; nullopt when it is neither. Throws
    // Error when it is one that cannot be read, ReprRaises when the target's repr() of it
    // would recurse until it raised.
    std::optional<std::string> repr(uint64_t object, const ValueReprs& values, Parts parts = Parts::All);

private:
    void append_task_name(std::string& out, uint64_t name, const FutureInfo& info, const ValueReprs& values);
    std::string arguments_repr(uint64_t args, uint64_t keywords, const ValueReprs& values);
    std::string future_repr(uint64_t object, const FutureInfo& info, const ValueReprs& values, Parts parts);
    void append_callbacks(std::string& out, const FutureDetails& details, const ValueReprs& values);
    void append_callback(std::string& out, uint64_t callback, const ValueReprs& values);
    std::string callback_repr(uint64_t callback, const ValueReprs& values);
    std::string callback_name(uint64_t callback, const ValueReprs& values);
    void append_builtin_method_name(std::string& out, uint64_t func);
    const std::string& method_name(uint64_t def);
    std::optional<std::string> callback_source(uint64_t callback);
    void append_coroutine(std::string& out, uint64_t coro);
    // A Future or Task whose repr, or (FutureReprGuard::Result) whose result, is being built.
    struct Shown {
        uint64_t object = 0;
        bool result = false;
    };
    std::vector<Shown>& in_repr() { return outer_in_repr_ ? *outer_in_repr_ : in_repr_; }
    bool recurses(uint64_t object);

    ObjectReader& objects_;
    FrameReader& frames_;
    AsyncioFutures& futures_;
    GeneratorReader generators_;
    // What is being shown, outermost first, here or by the outer AsyncioRepr this one's reprs
    // run inside.
    std::vector<Shown> in_repr_;
    std::vector<Shown>* outer_in_repr_ = nullptr;
    PartialTypes partials_{objects_};
    std::unordered_map<uint64_t, std::string> method_names_;  // PyMethodDef.ml_name by PyMethodDef
    struct BoundMethodKey {
        uint64_t def = 0;        // the PyMethodDef
        uint64_t self_type = 0;  // the type of the object it is bound to
        bool operator==(const BoundMethodKey&) const = default;
    };
    struct BoundMethodKeyHash {
        size_t operator()(const BoundMethodKey& k) const {
            return std::hash<uint64_t>()(k.def) ^ (std::hash<uint64_t>()(k.self_type) * 0x9e3779b97f4a7c15ULL);
        }
    };
    // A builtin method's __qualname__ by what it is bound to (not a class), once per pair.
    std::unordered_map<BoundMethodKey, std::string, BoundMethodKeyHash> bound_method_names_;
};

}  // namespace stackscope
