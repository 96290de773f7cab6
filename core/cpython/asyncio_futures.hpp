#pragma once
// asyncio's Future and Task from outside: which objects are ones (by their classes' identity,
// found in sys.modules), their state and a Task's name and coroutine. Both the C classes
// (_asyncio) and the pure-Python fallbacks (_PyFuture, _PyTask) are read.
#include <cstdint>
#include <optional>
#include <string>

#include "cpython/object_reader.hpp"

namespace stackscope {

enum class FutureState { Pending, Cancelled, Finished };

struct FutureInfo {
    bool is_task = false;
    std::string class_name;  // type(f).__name__ (not __qualname__, as Future.__repr__ shows it)
    FutureState state = FutureState::Pending;
    std::string task_name;   // a Task's get_name()
    uint64_t task_coro = 0;  // a Task's coroutine (0 once it is done)
};

class AsyncioFutures {
public:
    explicit AsyncioFutures(ObjectReader& objects) : objects_(objects) {}

    // The Future (or Task) `object` is; nullopt when it is neither. Throws Error when it is
    // one that cannot be read.
    std::optional<FutureInfo> read(uint64_t object);

    // How the tool shows a Future or Task: `<Future pending>`, `<Task pending name='Task-1'>`.
    static std::string describe(const FutureInfo& future);

private:
    struct Classes {
        uint64_t c_future = 0, c_task = 0, py_future = 0, py_task = 0;
    };
    const Classes& classes();
    FutureInfo read_c(uint64_t object, bool is_task);
    FutureInfo read_python(uint64_t object, bool is_task);

    ObjectReader& objects_;
    std::optional<Classes> classes_;  // looked up once, when first needed
};

}  // namespace stackscope
