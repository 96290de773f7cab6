#include "cpython/thread_activity.hpp"

#include "stackscope/error.hpp"
#include "target/syscall_names.hpp"

namespace stackscope {

GilState read_gil(RemoteMemory& mem, const PythonRuntime& rt, uint64_t interp) {
    const PythonLayout& l = rt.layout;
    GilState gil;
    try {
        switch (l.gil_location) {
            case GilLocation::Runtime: gil.address = rt.address + l.runtime_gil; break;
            case GilLocation::InterpreterPointer: gil.address = mem.read_pointer(interp + l.interp_gil); break;
        }
        if (gil.address == 0) return {};
        gil.locked = mem.read_value<int32_t>(gil.address + l.gil_locked) != 0;
        gil.last_holder = mem.read_pointer(gil.address + l.gil_last_holder);
    } catch (const Error&) {
        return {};
    }
    return gil;
}

void set_kernel_activity(Thread& thread, const TargetThread& kernel, const GilState& gil, const PythonLayout& l,
                         const std::optional<std::string>& resumed_in) {
    if (!kernel.syscall) return;
    const int64_t number = *kernel.syscall;
    if (number < 0) {
        thread.activity = ThreadActivity::Running;
        return;
    }
    const auto name = syscall_name(number);
    thread.syscall = name ? std::string(*name) : "syscall " + std::to_string(number);
    if (number == kSyscallRestart && resumed_in) thread.syscall = *resumed_in;
    // A timed wait for the GIL that a stop interrupted keeps its futex address in rdi.
    const bool on_gil = gil.address != 0 && kernel.syscall_arg0 >= gil.address &&
                        kernel.syscall_arg0 < gil.address + static_cast<uint64_t>(l.gil_size);
    const bool futex_wait = number == kSyscallFutex || number == kSyscallRestart;
    thread.activity = futex_wait && on_gil ? ThreadActivity::WaitingForGil : ThreadActivity::Idle;
}

bool gc_running(RemoteMemory& mem, const PythonRuntime& rt, uint64_t interp) {
    const PythonLayout& l = rt.layout;
    uint64_t gc = 0;
    switch (l.gc_location) {
        case GcStateLocation::Runtime: gc = rt.address + l.runtime_gc; break;
        case GcStateLocation::Interpreter: gc = interp + l.interp_gc; break;
    }
    try {
        return mem.read_value<int32_t>(gc + l.gc_collecting) != 0;
    } catch (const Error&) {
        return false;
    }
}

uint64_t finalizing_thread(RemoteMemory& mem, const PythonRuntime& rt) {
    try {
        return mem.read_pointer(rt.address + rt.layout.runtime_finalizing);
    } catch (const Error&) {
        return 0;
    }
}

}  // namespace stackscope
