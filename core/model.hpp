#pragma once
// What an extraction produces; formatters consume only this. The concepts mirror the
// upstream in-process stackscope library: a Stack of Frames, each with its Contexts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process_info.hpp"

namespace stackscope {

struct Stack;

// An active `with` / `async with` block of a frame (filled in by later work).
struct Context {
    std::string varname;          // the `as` target, "" when none
    std::string type_name;        // the manager's type
    std::optional<int> start_line;
    bool is_async = false;
    bool is_exiting = false;
    std::string description;
    std::vector<Context> children;
};

struct Frame {
    std::string function;         // qualified display name
    std::string name;             // co_name
    std::optional<std::string> module;
    std::string filename;
    std::optional<int> line;
    std::optional<std::string> source;  // stripped source line
    bool hidden = false;
    bool entry = false;           // first Python frame of a C-level eval-loop invocation
    uint64_t address = 0;         // the frame struct in the target
    // For an entry frame: an address inside the C stack frame of the eval-loop call that runs
    // it (3.12+: that call's entry shim frame), so that a debugger can find that native frame
    // by its stack range without symbols; 0 when unknown.
    uint64_t eval_stack_address = 0;
    std::vector<Context> contexts;
};

struct Stack {
    std::vector<Frame> frames;    // outermost first
    std::optional<std::string> error;
};

// What a thread was doing when it was read, as the kernel saw it.
enum class ThreadActivity {
    Unknown,        // the target does not say (e.g. a debugger that lists threads itself)
    Running,        // running user code (or stopped there)
    Idle,           // blocked in a system call (Thread::syscall)
    WaitingForGil,  // blocked on the GIL's condition variable or mutex
};

// The exception a thread's innermost `except` block (or __exit__) is handling: sys.exc_info().
struct HandledException {
    std::string type;                    // class name (__qualname__ for classes defined in Python)
    std::optional<std::string> message;  // its single str or int argument, if it has one; bounded
};

struct Thread {
    std::optional<int> tid;
    std::optional<uint64_t> pthread_id;
    std::optional<std::string> name;
    bool holds_gil = false;
    int64_t interpreter_id = 0;
    uint64_t thread_state = 0;    // PyThreadState address in the target
    std::optional<int> debugger_thread;  // the debugger's thread number, set by a debugger front-end
    std::optional<FatalSignal> crash;    // the signal that killed the process arrived on this thread
    ThreadActivity activity = ThreadActivity::Unknown;
    std::optional<std::string> syscall;  // the call it is blocked in ("clock_nanosleep"; "syscall 999" unnamed)
    bool in_gc = false;                  // the garbage collector runs on it
    bool finalizing = false;             // it is finalizing the interpreter (Py_FinalizeEx)
    std::optional<HandledException> handling;
    Stack stack;
};

struct Snapshot {
    std::string python_version;
    int pid = 0;
    std::optional<ProcessInfo> process;  // from a core: command line, executable, fatal signal
    std::vector<Thread> threads;         // the crashed thread first

    bool partial() const {
        for (const Thread& t : threads) {
            if (t.stack.error) return true;
        }
        return false;
    }
};

}  // namespace stackscope
