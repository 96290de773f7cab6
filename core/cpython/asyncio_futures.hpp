#pragma once
// asyncio's Future and Task from outside: which objects are ones (by their classes' identity,
// found in sys.modules), their state and a Task's name and coroutine. Both the C classes
// (_asyncio) and the pure-Python fallbacks (_PyFuture, _PyTask) are read.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpython/object_reader.hpp"
#include "cpython/read_cache.hpp"

namespace stackscope {

enum class FutureState { Pending, Cancelled, Finished };

struct FutureInfo {
    bool is_task = false;
    bool python_class = false;  // _PyFuture / _PyTask (attributes), not the C classes (fields)
    std::string class_name;     // type(f).__name__ (not __qualname__, as Future.__repr__ shows it)
    FutureState state = FutureState::Pending;
    std::string task_name;   // a Task's get_name()
    uint64_t task_coro = 0;  // a Task's coroutine (0 once it is done)
    uint64_t loop = 0;       // its event loop
};

// What Future.__repr__ and Task.__repr__ show beyond the state; 0 for an absent object.
struct FutureDetails {
    size_t callback_count = 0;  // done-callbacks, as Future._callbacks lists them
    uint64_t first_callback = 0;
    uint64_t last_callback = 0;
    uint64_t exception = 0;   // finished with an exception
    uint64_t result = 0;      // finished with a result
    uint64_t waiter = 0;      // a Task's _fut_waiter
    uint64_t name = 0;        // a Task's name: a str, or from 3.12 an int N for "Task-N"
    uint64_t coro = 0;        // a Task's coroutine
    bool cancelling = false;  // a Task's pending cancellation, as its repr reads it
};

class AsyncioFutures {
public:
    explicit AsyncioFutures(ObjectReader& objects) : objects_(objects), infos_(objects.memory()) {}

    // The Future (or Task) `object` is; null when it is neither. Throws Error when it is one
    // that cannot be read. What it points to is kept until the memory is cleared
    // (RemoteMemory::clear): a task is asked about by its list, its stack and its repr.
    const FutureInfo* read(uint64_t object);

    // Room for `count` futures read (a task list's tasks and the futures they wait on).
    void reserve(size_t count) { infos_.reserve(count); }

    // Throws Error when the future cannot be read.
    FutureDetails details(uint64_t object, const FutureInfo& info);

    // Every done-callback, in Future._callbacks' order. Throws Error when they cannot be read.
    std::vector<uint64_t> callbacks(uint64_t object, const FutureInfo& info);
    // The first of them, 0 when there is none (without reading the others).
    uint64_t first_callback(uint64_t object, const FutureInfo& info);

private:
    struct Classes {
        uint64_t c_future = 0, c_task = 0, py_future = 0, py_task = 0;
        bool complete = true;  // every lookup answered (found or not): kept for the extraction
    };
    const Classes& classes();
    std::optional<FutureInfo> read_uncached(uint64_t object);
    FutureInfo read_c(uint64_t object, bool is_task);
    FutureInfo read_python(uint64_t object, bool is_task);
    FutureDetails details_c(uint64_t object, const FutureInfo& info);
    FutureDetails details_python(uint64_t object, const FutureInfo& info);
    void add_callbacks(uint64_t future, uint64_t list, FutureDetails& d);
    // A (callback, context) tuple's callback.
    uint64_t callback_of(uint64_t entry);

    enum class Kind { None, CTask, CFuture, PyTask, PyFuture };

    ObjectReader& objects_;
    std::optional<Classes> classes_;            // looked up once, when first needed
    std::unordered_map<uint64_t, Kind> kinds_;  // what each type met is
    // What each object read is: a task is asked about by the task list, its stack and its
    // repr, within one read of the target.
    PerReadCache<uint64_t, std::optional<FutureInfo>> infos_;
    size_t callbacks_listed_ = 0;  // by callbacks(), bounded in all
};

}  // namespace stackscope
