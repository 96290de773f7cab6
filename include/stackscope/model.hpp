#pragma once
// What an extraction produces; formatters consume only this. The concepts mirror the
// upstream in-process stackscope library: a Stack of Frames, each with its Contexts.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stackscope/error.hpp"
#include "stackscope/process_info.hpp"

namespace stackscope {

struct Stack;
struct Context;

// A value that holds one T on the heap and copies it deeply: lets the model nest (a Context
// holds Stacks, whose Frames hold Contexts) with value semantics.
template <typename T>
class Boxed {
public:
    Boxed(T value) : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
    Boxed(const Boxed& other) : value_(std::make_unique<T>(*other.value_)) {}
    Boxed(Boxed&&) noexcept = default;
    Boxed& operator=(const Boxed& other) {
        if (this != &other) value_ = std::make_unique<T>(*other.value_);
        return *this;
    }
    Boxed& operator=(Boxed&&) noexcept = default;
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }
    T* operator->() { return value_.get(); }
    const T* operator->() const { return value_.get(); }

private:
    std::unique_ptr<T> value_;
};

// Why part of the model could not be read: what happened, where, in words.
struct ExtractionError {
    ErrorKind kind = ErrorKind::InconsistentData;
    std::string message;
    std::optional<uint64_t> address;  // the target address it is about, when known

    static ExtractionError from(const Error& e) { return {e.kind(), e.what(), e.address()}; }
};

// What a Stack is the stack of (upstream's `Stack.root`).
enum class StackRootKind {
    Thread,  // a thread's frames
    Generator,
    Coroutine,
    AsyncGenerator,
    Task,  // an asyncio/Trio task: its coroutine's frames
    Greenlet,
    Object,  // any other object asked for
};

struct StackRoot {
    StackRootKind kind = StackRootKind::Thread;
    uint64_t address = 0;     // the object in the target (the PyThreadState for a thread)
    std::string description;  // how it is shown ("<coroutine object coro_a at 0x...>"); "" for a thread
    // The thread an object's frames are running on (a running coroutine, a threading.Thread).
    std::optional<uint64_t> thread_state;
    std::optional<int> thread_tid;
};

// What the innermost frame of a Stack waits on (upstream's `Stack.leaf`): a Future, an
// object being awaited that is not a coroutine, ...
struct StackLeaf {
    uint64_t address = 0;
    std::string type;         // type(obj).__name__
    std::string description;  // its repr, bounded
};

// One child of a Context, in upstream's order: a nested Context or a Stack (a child task's).
using ContextChild = std::variant<Boxed<Context>, Boxed<Stack>>;

// An active `with` / `async with` block of a frame (upstream's `Context`).
struct Context {
    uint64_t address = 0;                // the context manager; 0 when unknown (an exiting one run from C)
    std::optional<std::string> varname;  // the `as` target, or the local that holds the manager; nullopt: none
    std::string type_name;               // type(manager).__name__; "" when the manager is unknown
    std::optional<int> start_line;       // the `with` statement's line
    // start_line is the with-item's line: 3.13+ records no instruction at the line of a
    // statement whose items are on lines of their own (add_source_lines finds it in the source).
    bool line_of_item = false;
    std::optional<std::string> source;  // that line's source text, stripped
    bool is_async = false;
    bool is_exiting = false;  // the frame is inside its __exit__ / __aexit__
    // What the manager is, as upstream's elaboration says it: `func(args)` / `qualname(...)` for
    // a @contextmanager, `stack.enter_context(...)` for an ExitStack's child; "" when not elaborated.
    std::string description;
    std::optional<Boxed<Stack>> inner_stack;  // e.g. a @contextmanager's generator's stack
    std::vector<ContextChild> children;       // e.g. an ExitStack's callbacks, outermost first
    std::optional<std::string> error;         // why what the manager holds could not be read
    // With --locks, a manager that is a lock: its state as the object records it ("locked",
    // "held by thread 4321 \"worker\", count 2", "value 0", ...); nullopt otherwise.
    std::optional<std::string> lock_state;
};

// What a frame's variable is (how the JSON names it: arg, local, cell, free).
enum class LocalKind {
    Arg,    // a parameter: positional, keyword-only, *args or **kwargs (also when a closure captures it)
    Local,  // another local variable
    Cell,   // a local variable a nested function captures (its cell's contents are shown)
    Free,   // a variable of an enclosing function this one uses (its cell's contents are shown)
};

// One bound variable of a frame (--locals): unbound ones (not assigned yet, deleted, an empty
// cell) are left out.
struct Local {
    std::string name;
    LocalKind kind = LocalKind::Local;
    std::string repr;  // its value's repr, bounded as reprlib's (ObjectRepr)
};

struct Frame {
    std::string function;  // qualified display name
    std::string name;      // co_name
    std::optional<std::string> module;
    std::string filename;
    std::optional<int> line;
    std::optional<std::string> source;  // stripped source line
    bool hidden = false;
    bool entry = false;      // first Python frame of a C-level eval-loop invocation
    bool coroutine = false;  // it runs an `async def` (a coroutine's or an async generator's code)
    uint64_t address = 0;    // the frame struct in the target
    // For an entry frame: an address inside the C stack frame of the eval-loop call that runs
    // it (3.12+: that call's entry shim frame), so that a debugger can find that native frame
    // by its stack range without symbols; 0 when unknown.
    uint64_t eval_stack_address = 0;
    std::vector<Context> contexts;              // outermost first
    std::optional<std::string> contexts_error;  // why the frame's with-blocks could not be read
    // Arguments first, then the other locals, cells and free variables, in the frame's order;
    // nullopt when not read (without --locals); empty for a module or class body, whose names
    // live in a dict (a module's is its globals), not in the frame.
    std::optional<std::vector<Local>> locals;
    std::optional<std::string> locals_error;  // why the frame's variables could not be read
};

// Upstream's `Stack`: what it is the stack of, its frames, what the innermost one waits on,
// and why it could not be read in full.
struct Stack {
    StackRoot root;
    std::vector<Frame> frames;  // outermost first
    std::optional<StackLeaf> leaf;
    std::optional<ExtractionError> error;
};

// A native (C, C++) frame of a thread, as --native unwinds it.
struct NativeStackFrame {
    uint64_t pc = 0;                      // the next instruction (the newest frame) or the return address
    std::string symbol;                   // its function, demangled; "" when no symbol covers pc
    uint64_t offset = 0;                  // pc minus the symbol's address
    std::string library;                  // the file mapped at pc, as the target names it; "" when none
    std::optional<std::string> filename;  // its source file and line, from DWARF where there is some
    std::optional<int> line;
    bool inlined = false;      // a function inlined into the frame after it (at the same pc)
    bool interpreter = false;  // in the file that holds the interpreter (_PyRuntime)
    // Its stack: [sp, the caller's sp); 0, 0 when unknown (and for inline frames).
    uint64_t stack_low = 0;
    uint64_t stack_high = 0;
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
    // Its interpreter; nullopt for a thread without a Python thread state (listed by --native).
    std::optional<int64_t> interpreter_id = 0;
    uint64_t thread_state = 0;           // PyThreadState address in the target
    std::optional<int> debugger_thread;  // the debugger's thread number, set by a debugger front-end
    std::optional<FatalSignal> crash;    // the signal that killed the process arrived on this thread
    ThreadActivity activity = ThreadActivity::Unknown;
    std::optional<std::string> syscall;  // the call it is blocked in ("clock_nanosleep"; "syscall 999" unnamed)
    bool in_gc = false;                  // the garbage collector runs on it
    bool finalizing = false;             // it is finalizing the interpreter (Py_FinalizeEx)
    std::optional<HandledException> handling;
    Stack stack;
    // With --tasks: the asyncio event loop this thread is running, and the task that loop is
    // running now; nullopt when none (or not asked).
    std::optional<uint64_t> running_loop;
    std::optional<uint64_t> running_task;
    // With --native: its native frames, newest first, and why they are missing or end early.
    std::optional<std::vector<NativeStackFrame>> native;
    std::optional<std::string> native_error;
};

// Where a generator, coroutine or async generator is in its life.
enum class GeneratorState {
    Created,    // not started: its one frame, at its first line
    Suspended,  // at a yield / await
    Running,    // its frame is executing on a thread
    Finished,   // returned or raised: no frame
};

// An object asked for by address (`--object`) and its stack, as upstream's
// `stackscope.extract(obj)` gives it: a generator or coroutine and what it awaits, down to the
// leaf; a Task's coroutine; a Future as the leaf; a threading.Thread's stack.
struct ObjectStack {
    uint64_t address = 0;                 // as asked
    std::optional<std::string> type;      // type(obj).__name__; nullopt when it is not a readable object
    std::optional<GeneratorState> state;  // for a generator, coroutine or async generator (or what wraps one)
    Stack stack;  // root: how the object is shown (its repr, or close to it) and the thread it runs on
};

// An asyncio task, as --tasks lists them: each task that asyncio.all_tasks() would return (pending,
// or pending and being cancelled), on every loop of every thread.
enum class TaskState { Pending, Cancelling };

// A task waiting for another: directly, through gather or shield, or as its TaskGroup's parent.
struct TaskAwaiter {
    uint64_t task = 0;   // the awaiting Task
    uint64_t group = 0;  // the TaskGroup the awaited task belongs to (its `async with` context); 0 when none
    bool operator==(const TaskAwaiter&) const = default;
};

struct Task {
    uint64_t id = 0;   // the Task object
    std::string name;  // get_name(): an automatic name is "Task-N"; names need not be unique
    TaskState state = TaskState::Pending;
    uint64_t loop = 0;                    // its event loop
    std::optional<int> loop_thread;       // the tid of the thread running that loop; nullopt when none runs it
    bool running = false;                 // its loop is running it now (its coroutine is on that thread's stack)
    std::vector<TaskAwaiter> awaited_by;  // in the order found; each awaiter once
    bool cycle = false;                   // it awaits itself through other tasks
    // root: Task, described by its repr without `wait_for=` and `cb=`; frames: its coroutine chain,
    // outermost first, with their contexts; leaf: what the innermost awaits; error: why not all
    // of it could be read.
    Stack stack;
};

// The awaiter a task is shown in full under, among the tasks `listed(id)` accepts: its
// lowest-id awaiter; 0 when none is listed (the task is a root). The others show a reference
// to it. The tasks' order and their tree text both follow this one rule.
template <typename Listed>
uint64_t full_awaiter(const Task& task, const Listed& listed) {
    uint64_t lowest = 0;
    for (const TaskAwaiter& a : task.awaited_by) {
        if ((lowest == 0 || a.task < lowest) && listed(a.task)) lowest = a.task;
    }
    return lowest;
}

// --locks: a thread or an asyncio task that holds or waits for a lock, and where.
struct LockSite {
    std::optional<int> tid;        // a thread: its kernel id (nullopt when unknown)
    uint64_t thread_state = 0;     // a thread: its PyThreadState; 0 for a task
    std::optional<uint64_t> task;  // an asyncio task
    std::string task_name;         // its get_name()
    std::string filename;          // the frame that holds (its `with`) or waits; "" when unknown
    std::optional<int> line;
    std::optional<std::string> source;  // that line's source text, stripped (add_source_lines)

    bool same_party(const LockSite& other) const { return thread_state == other.thread_state && task == other.task; }
};

// A lock, as its object records it and as the threads and tasks that hold it or wait for it
// show it: threading.Lock (type "lock"), RLock, Condition, Semaphore, BoundedSemaphore, and
// asyncio's ("asyncio.Lock", "asyncio.Semaphore", "asyncio.Event", "asyncio.Condition").
struct LockState {
    uint64_t address = 0;  // the lock object: id(lock)
    std::string type;      // type(lock).__name__
    std::optional<bool> locked;
    std::optional<int64_t> count;  // an RLock's acquisitions by its owner
    std::optional<int64_t> value;  // a semaphore's counter
    uint64_t lock = 0;             // a Condition's lock, a Semaphore's Condition; 0 when none
    // Who holds it: an RLock's owner (its line when a `with` of that thread shows it), else each
    // thread or task in an active `with` of it while it is locked; empty when nothing says.
    std::vector<LockSite> holders;
    std::vector<LockSite> waiters;  // who is blocked acquiring it (a Condition: waiting to be notified)
};

// One member of a deadlock: it holds `holds` and waits for `waits_for`, which the next member
// holds (the last member's is held by the first).
struct DeadlockMember {
    LockSite holds_at;  // the party, and where it took `holds`
    LockSite waits_at;  // the same party, and where it waits
    uint64_t holds = 0;
    uint64_t waits_for = 0;
};

struct Snapshot {
    std::string python_version;
    bool debug_build = false;  // a Py_DEBUG build (python3.X-dbg)
    int pid = 0;
    std::optional<ProcessInfo> process;  // from a core: command line, executable, fatal signal
    std::vector<Thread> threads;         // the crashed thread first; none when objects were asked for
    std::vector<ObjectStack> objects;    // the objects asked for, in order
    bool objects_asked = false;          // the snapshot shows objects, not threads
    std::vector<Task> tasks;             // --tasks: every task, by loop, roots before the tasks they await
    bool tasks_asked = false;
    std::optional<ExtractionError> tasks_error;  // why the task list could not be read (in full)
    // --locks: every lock a `with` holds or a thread waits for (in the order found), the cycles
    // of the wait-for graph, and the threads blocked on a lock no rule identifies.
    bool locks_asked = false;
    std::vector<LockState> locks;
    std::vector<std::vector<DeadlockMember>> deadlocks;
    std::vector<LockSite> unidentified_waits;

    bool partial() const {
        if (tasks_error) return true;
        for (const Task& t : tasks) {
            if (t.stack.error) return true;
        }
        for (const Thread& t : threads) {
            if (t.stack.error) return true;
        }
        for (const ObjectStack& o : objects) {
            if (o.stack.error) return true;
        }
        return false;
    }
};

}  // namespace stackscope
