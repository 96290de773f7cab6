#pragma once
// What each thread is doing: the kernel's view (running, or which system call it is blocked
// in, the GIL's futexes included) and the interpreter's (collecting garbage, finalizing).
#include <cstdint>
#include <vector>

#include "stackscope/model.hpp"
#include "cpython/runtime_discovery.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

// The GIL of one interpreter, as read from its _gil_runtime_state.
struct GilState {
    uint64_t address = 0;  // 0: unknown
    bool locked = false;
    uint64_t last_holder = 0;  // the PyThreadState that took it last (still set after a release)

    uint64_t holder() const { return locked ? last_holder : 0; }
};

GilState read_gil(RemoteMemory& memory, const PythonRuntime& runtime, uint64_t interp);

// Sets activity and syscall from the kernel's view of the thread: a futex wait on an address
// inside the GIL's state is a wait for the GIL. A wait that a stop interrupted resumes as
// restart_syscall: `resumed_in` names the function it is really in (the libc function the
// native stack shows), when known.
void set_kernel_activity(Thread& thread, const TargetThread& kernel, const GilState& gil, const PythonLayout& layout,
                         const std::optional<std::string>& resumed_in = std::nullopt);

// Whether the interpreter's garbage collector is running; false when unreadable.
bool gc_running(RemoteMemory& memory, const PythonRuntime& runtime, uint64_t interp);

// The thread state finalizing the runtime (Py_FinalizeEx), 0 when none or unreadable.
uint64_t finalizing_thread(RemoteMemory& memory, const PythonRuntime& runtime);

}  // namespace stackscope
