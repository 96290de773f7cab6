// stackscope's LLDB front-end: `stackscope all-threads`, `stackscope thread [N]`,
// `stackscope object ADDR...` and `stackscope tasks` render what the core reads from the
// process or core file LLDB debugs. All CPython knowledge is in the core, and the options are its table's
// (stackscope/options.hpp); this file checks the thread and address arguments, names
// threads the way LLDB does and lists LLDB's native frames with the Python frames the core
// places among them (--native).
#include <lldb/API/LLDB.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/debugger.hpp"
#include "stackscope/error.hpp"
#include "stackscope/eval_calls.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/options.hpp"
#include "lldb_target.hpp"

namespace lldb {
__attribute__((visibility("default"))) bool PluginInitialize(lldb::SBDebugger debugger);
}

namespace stackscope_lldb {

namespace {

using namespace stackscope;

// Help texts: lines stay under 80 columns, or lldb's help wraps them. The options' usage and
// help come from the option table (stackscope/options.hpp), as the CLI's and gdb's do.
constexpr const char* kHelp = "Show the Python stacks of the debugged process or core (stackscope).";
constexpr const char* kHelpLong =
    "Reads every Python thread's stack from outside the interpreter (CPython\n"
    "3.8 to 3.15 on x86-64 Linux, live processes and cores) and prints it as a\n"
    "stackscope tree, a Python traceback (--flat) or JSON (--json). Threads are\n"
    "headed with lldb's thread index and tid: thread #2 (tid 4321) \"worker\":\n"
    "'stackscope object ADDR' shows suspended generators, coroutines, asyncio\n"
    "Tasks and Futures by address instead; 'stackscope tasks' every thread, then\n"
    "every asyncio task as trees of who awaits whom; 'stackscope locks' every\n"
    "thread, then the deadlocks and who holds and waits for each lock.\n"
    "See 'help stackscope all-threads' for the options.\n";
constexpr const char* kAllHelp =
    "Print the Python stack of every Python thread, headed with lldb's thread index and tid.";
constexpr const char* kThreadHelp =
    "Print the Python stack of one thread: lldb's thread index N (default: the selected thread).";
constexpr const char* kLocksHelp =
    "Print every Python thread, then the deadlocks and who holds and waits for each lock.";
constexpr const char* kLocksHelpLong =
    "The CLI's --locks: the threads as 'stackscope all-threads' prints them (a\n"
    "with-block whose manager is a lock says its state: [locked], [held by thread\n"
    "TID \"NAME\", count 2]), then each deadlock (a cycle of threads or asyncio\n"
    "tasks each waiting for a lock the next one holds: \"Deadlock: 2 threads\", a\n"
    "line per member with where it took the lock it holds and where it waits),\n"
    "then each lock held or waited for (threading's Lock, RLock, Condition,\n"
    "Semaphore; asyncio's Lock, Semaphore, Event, Condition) with its holders and\n"
    "waiters, and the threads blocked on a lock no rule identifies (\"waits on an\n"
    "unidentified lock\"). Live or from a core. --json prints the CLI's --locks\n"
    "JSON (\"locks\", \"deadlocks\", \"unidentified_waits\") with each thread's\n"
    "\"debugger_thread\".\n"
    "See 'help stackscope all-threads' for the options.\n";
constexpr const char* kTasksHelp =
    "Print every Python thread, then every asyncio task of every event loop as trees of who awaits whom.";
constexpr const char* kTasksHelpLong =
    "The CLI's --tasks: the threads as 'stackscope all-threads' prints them, then\n"
    "per event loop a header (Event loop 0x... on thread TID \"NAME\": N tasks)\n"
    "and its root tasks as trees, each headed stackscope.Stack of <Task pending\n"
    "name=... coro=...> (\"no event loops\" when there are none). A task awaited\n"
    "by another (directly, through gather or shield, or as a TaskGroup child)\n"
    "hangs under the awaiting frame: under its TaskGroup's async with, else under\n"
    "the awaiting line marked \"# awaits N tasks\"; it is shown in full under its\n"
    "lowest-id awaiter, named under the others, and never again as a root. A\n"
    "thread's header names the task its loop is running. Tasks are those\n"
    "asyncio.all_tasks() would return, on every loop, live or from a core; a\n"
    "warning says when some could not be read in full. --json prints the CLI's\n"
    "--tasks JSON (\"tasks\", and each thread's \"running_task\") with each\n"
    "thread's \"debugger_thread\".\n"
    "See 'help stackscope all-threads' for the options.\n";
constexpr const char* kObjectHelp =
    "Print the stacks of objects by address: suspended generators, coroutines, async generators, asyncio Tasks "
    "and Futures, threading.Threads.";
constexpr const char* kObjectHelpLong =
    "Each ADDR is an object's address: 0x-hex or decimal (what id() prints), or\n"
    "an expression lldb evaluates in the selected frame without running code in\n"
    "the process ($rdi, a PyObject pointer); quote one that has spaces.\n"
    "A suspended generator, coroutine or async generator shows its frame, then\n"
    "the frames of what it awaits (yield from, await), outermost first, and last\n"
    "the object at the end of that chain (an asyncio Future, ...); a not-started\n"
    "one its first line; an exhausted one no frames. An asyncio Task shows its\n"
    "coroutine's stack, a Future only itself, a threading.Thread its thread's\n"
    "stack. Any other object, or an address that is not an object, is shown with\n"
    "an error (and a warning). Each object is headed as upstream stackscope\n"
    "prints stackscope.extract(obj): stackscope.Stack of <coroutine object ...>.\n"
    "--json prints the objects as 'stackscope pid PID --object ADDR' does (its\n"
    "\"objects\", \"threads\": []). --native does not apply to objects.\n";

std::string options_help_long() {
    return "Options:\n" + options_help(Surface::Lldb) +
           "JSON follows stackscope's docs/schema-v1.json; each thread's\n"
           "\"debugger_thread\" is its lldb thread index. --native shows lldb's frames\n"
           "as [native] lines, outermost first: the Python frames each call of the\n"
           "eval loop runs follow its frame (_PyEval_EvalFrameDefault).\n"
           "In a core the kernel wrote for a crash, the thread the fatal signal came\n"
           "to is listed first, marked (crashed: SIGSEGV at 0x0), and has \"crash\".\n"
           "Live processes are read directly (process_vm_readv) when /proc/PID is\n"
           "lldb's process (its executable and threads), cores and other targets\n"
           "through LLDB. STACKSCOPE_LLDB_READS=lldb in lldb's environment\n"
           "makes it read through LLDB's SB API instead (slower for live processes).\n";
}

enum class Mode { AllThreads, Thread, Objects, Tasks, Locks };

struct Options {
    OutputOptions output;
    std::optional<uint32_t> thread;
    std::vector<std::string> objects;  // Mode::Objects: the addresses (or expressions) as given
    bool color = false;                // --color as resolved against lldb's use-color
};

// What is wrong with the arguments; empty when nothing is.
std::string parse(char** argv, Mode mode, Options& o) {
    std::vector<std::string> words;
    for (; argv && *argv; ++argv) words.emplace_back(*argv);
    ParsedOptions parsed = parse_options(Surface::Lldb, words);
    if (!parsed.error.empty()) return parsed.error;
    o.output = parsed.options;
    if (mode == Mode::Objects) {
        if (o.output.native) return "--native shows lldb's frames of threads: an object has none";
        if (parsed.positional.empty()) return "give the address of at least one object";
        o.objects = parsed.positional;
        return {};
    }
    for (const std::string& word : parsed.positional) {
        if (mode != Mode::Thread || o.thread) return "unexpected argument '" + word + "'";
        std::string_view arg = word;
        if (arg.starts_with("#")) arg.remove_prefix(1);
        if (arg.empty() || arg.size() > 9 || arg.find_first_not_of("0123456789") != std::string_view::npos) {
            return "'" + word + "' is not a thread index (see 'thread list')";
        }
        o.thread = static_cast<uint32_t>(std::stoul(std::string(arg)));
    }
    return {};
}

Snapshot read_snapshot(lldb::SBTarget target, lldb::SBProcess process, const Options& o,
                       std::span<const uint64_t> objects = {}, bool tasks = false, bool locks = false) {
    const char* reads = std::getenv("STACKSCOPE_LLDB_READS");
    const MemoryPath memory = reads && std::string_view(reads) == "lldb" ? MemoryPath::Debugger : MemoryPath::Auto;
    return read_debugger_snapshot(describe_process(target, process), memory, true, objects, o.output.locals, tasks,
                                  locks);
}

// A number as the CLI's --object takes it: 0x-hex or decimal; nullopt when it is not one.
std::optional<uint64_t> parse_number(std::string_view text) {
    const bool is_hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const std::string digits(is_hex ? text.substr(2) : text);
    if (digits.empty() || digits.size() > (is_hex ? 16 : 20)) return std::nullopt;
    if (digits.find_first_not_of(is_hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
        return std::nullopt;
    errno = 0;
    const unsigned long long value = std::strtoull(digits.c_str(), nullptr, is_hex ? 16 : 10);
    if (errno == ERANGE) return std::nullopt;
    return value;
}

// The address `text` gives: a number, else an expression evaluated in the selected frame (or
// the target) without running code in the process (no JIT: lldb's IR interpreter only).
// Sets `error` when it gives none.
uint64_t object_address(const std::string& text, lldb::SBTarget target, lldb::SBProcess process, std::string& error) {
    if (const std::optional<uint64_t> number = parse_number(text)) {
        if (*number == 0) error = "'" + text + "' is not an address";
        return *number;
    }
    lldb::SBExpressionOptions options;
    options.SetAllowJIT(false);
    options.SetTryAllThreads(false);
    options.SetUnwindOnError(true);
    options.SetIgnoreBreakpoints(true);
    options.SetTimeoutInMicroSeconds(5'000'000);
    lldb::SBFrame frame = process.GetSelectedThread().GetSelectedFrame();
    lldb::SBValue value = frame.IsValid() ? frame.EvaluateExpression(text.c_str(), options)
                                          : target.EvaluateExpression(text.c_str(), options);
    lldb::SBError failed = value.GetError();
    uint64_t address = 0;
    if (failed.Success()) address = value.GetValueAsUnsigned(failed, 0);
    if (failed.Fail()) {
        // lldb's message, one line: "error: expression failed to parse:\nerror: <user expression
        // 0>:1:1: use of undeclared identifier 'x'\nx\n^": the line that says why, without its prefixes.
        const std::string message = failed.GetCString() ? failed.GetCString() : "";
        std::string why;
        for (size_t start = 0; start < message.size();) {
            const size_t end = std::min(message.find('\n', start), message.size());
            std::string line = message.substr(start, end - start);
            start = end + 1;
            if (line.starts_with("error: ")) line.erase(0, 7);
            if (line.starts_with("<user expression")) {
                const size_t colon = line.find(": ");
                why = colon == std::string::npos ? line : line.substr(colon + 2);
                break;
            }
            if (why.empty()) why = line;
        }
        if (why.empty()) why = "lldb cannot evaluate it";
        error = "'" + text + "' is not an address (0x-hex, decimal or an expression): " + why;
    } else if (address == 0) {
        error = "'" + text + "' is not an address: it gives 0";
    }
    return address;
}

std::string header(const Thread& t) {
    return "thread" + (t.debugger_thread ? " #" + std::to_string(*t.debugger_thread) : std::string()) +
           (t.tid ? " (tid " + std::to_string(*t.tid) + ")" : " (tid unknown)") + format_thread_details(t) + ":";
}

// One of LLDB's frames, as `bt` shows it but without arguments. `concrete`: the frame of the
// function itself rather than of a function inlined into it.
std::string native_line(lldb::SBFrame frame, lldb::SBTarget target, bool concrete) {
    char pc[32];
    std::snprintf(pc, sizeof pc, "0x%016llx", static_cast<unsigned long long>(frame.GetPC()));
    const char* module = frame.GetModule().GetFileSpec().GetFilename();
    const char* function = concrete ? frame.GetFunction().GetDisplayName() : frame.GetDisplayFunctionName();
    if (!function || !*function) function = concrete ? frame.GetSymbol().GetDisplayName() : frame.GetFunctionName();
    std::string out = "frame #" + std::to_string(frame.GetFrameID()) + ": " + pc + " " + (module ? module : "???") +
                      "`" + (function && *function ? function : "???");
    const lldb::addr_t start = frame.GetSymbol().GetStartAddress().GetLoadAddress(target);
    if (!concrete) out += " [inlined]";
    else if (start != LLDB_INVALID_ADDRESS && frame.GetPC() >= start)
        out += " + " + std::to_string(frame.GetPC() - start);
    lldb::SBLineEntry line = frame.GetLineEntry();
    if (line.IsValid() && line.GetLine() != 0 && line.GetFileSpec().GetFilename()) {
        out += std::string(" at ") + line.GetFileSpec().GetFilename() + ":" + std::to_string(line.GetLine());
        if (line.GetColumn() != 0) out += ":" + std::to_string(line.GetColumn());
    }
    return out;
}

// LLDB's frames, outermost first, each eval-loop call followed by the Python frames it runs
// (placed by the core). Frames sharing a CFA are one machine frame: the functions inlined
// into a function come first (newer), and only the function's own frame can run a call.
std::string native_stack(const Thread& t, lldb::SBThread thread, lldb::SBTarget target, const Options& o) {
    const uint32_t count = thread.IsValid() ? thread.GetNumFrames() : 0;
    std::vector<NativeLine> lines(count);
    for (uint32_t first = 0, last = 0; first < count; first = last + 1) {
        lldb::SBFrame frame = thread.GetFrameAtIndex(first);
        const lldb::addr_t cfa = frame.GetCFA();
        for (last = first;
             cfa != LLDB_INVALID_ADDRESS && last + 1 < count && thread.GetFrameAtIndex(last + 1).GetCFA() == cfa;)
            ++last;
        for (uint32_t i = first; i <= last; ++i)
            lines[i].text = native_line(thread.GetFrameAtIndex(i), target, i == last);
        const char* symbol = thread.GetFrameAtIndex(last).GetSymbol().GetName();  // lldb keeps the string
        lines[last].frame = cfa == LLDB_INVALID_ADDRESS ? NativeFrame{symbol ? symbol : ""}
                                                        : NativeFrame{symbol ? symbol : "", frame.GetSP(), cfa};
    }
    return format_stack_with_natives(t.stack, lines, {{o.output.ascii, o.output.show_hidden, o.color}, "lldb"});
}

std::string render(const Snapshot& read, const Options& o, lldb::SBTarget target, lldb::SBProcess process) {
    std::optional<Snapshot> stripped;
    if (o.output.no_contexts) stripped = without_contexts(read);
    const Snapshot& snapshot = stripped ? *stripped : read;
    if (o.output.format == OutputFormat::Json && snapshot.process) {
        // As gdb's: the process (a core's command line, its fatal signal) is the debugger's to show.
        Snapshot threads_only = snapshot;
        threads_only.process.reset();
        return format_snapshot_json(threads_only);
    }
    if (o.output.format == OutputFormat::Json) return format_snapshot_json(snapshot);
    const bool flat = o.output.format == OutputFormat::Flat;
    std::vector<std::string> blocks;
    for (const ObjectStack& object : snapshot.objects) {  // as the CLI prints them
        blocks.push_back(flat ? format_stack_flat(object.stack, {o.output.show_hidden, o.color})
                              : format_stack_tree(object.stack, {o.output.ascii, o.output.show_hidden, o.color}));
    }
    for (const Thread& t : snapshot.threads) {
        std::string block = styled_header(with_running_task(header(t), snapshot, t), o.color) + "\n";
        if (o.output.native) {
            lldb::SBThread thread =
                t.debugger_thread ? process.GetThreadByIndexID(*t.debugger_thread) : lldb::SBThread();
            block += native_stack(t, thread, target, o);
        } else {
            block += flat ? format_stack_flat(t.stack, {o.output.show_hidden, o.color})
                          : format_stack_tree(t.stack, {o.output.ascii, o.output.show_hidden, o.color});
        }
        blocks.push_back(std::move(block));
    }
    return compose_debugger_text(snapshot, blocks, flat, {o.output.ascii, o.output.show_hidden, o.color});
}

// Why the process cannot be read now, "" when it can (stopped). Only a running one can be
// stopped: an exited or detached one, or none, must be attached, launched or loaded again.
std::string why_unreadable(lldb::SBProcess process) {
    constexpr const char* again =
        "attach to one (process attach -p PID) or load a core (target create EXE --core CORE)";
    if (!process.IsValid()) return std::string("no process: ") + again;
    switch (process.GetState()) {
        case lldb::eStateStopped:
        case lldb::eStateCrashed:
        case lldb::eStateSuspended: return "";
        case lldb::eStateRunning:
        case lldb::eStateStepping:
        case lldb::eStateLaunching:
        case lldb::eStateAttaching: return "the process is not stopped (stop it with 'process interrupt')";
        case lldb::eStateExited:
            return "no process: it exited with status " + std::to_string(process.GetExitStatus()) + " (" + again +
                   ", or run it again with 'process launch')";
        case lldb::eStateDetached: return std::string("no process: detached from it (") + again + ")";
        default: return std::string("no process: ") + again;  // unloaded, invalid, connected without one
    }
}

class Command final : public lldb::SBCommandPluginInterface {
public:
    Command(std::string name, Mode mode) : name_(std::move(name)), mode_(mode) {}

    // Nothing may escape into lldb: an exception there would end the user's session.
    bool DoExecute(lldb::SBDebugger debugger, char** argv, lldb::SBCommandReturnObject& result) override {
        try {
            run(debugger, argv, result);
        } catch (const Error& e) {
            fail(result, e.what());
        } catch (const std::exception& e) {
            fail(result, std::string("internal error: ") + e.what());
        } catch (...) {
            fail(result, "internal error");
        }
        return result.Succeeded();
    }

private:
    void fail(lldb::SBCommandReturnObject& result, const std::string& message) const {
        result.SetError(("stackscope " + name_ + ": " + message).c_str());
    }

    void run(lldb::SBDebugger debugger, char** argv, lldb::SBCommandReturnObject& result) const {
        Options o;
        if (const std::string bad = parse(argv, mode_, o); !bad.empty()) {
            return fail(result, bad + " (see 'help stackscope " + name_ + "')");
        }
        // lldb's own output is coloured per use-color, which lldb sets from its terminal
        // (and TERM) at start and the user may change: auto follows it.
        o.color = o.output.format != OutputFormat::Json && use_color(o.output.color, debugger.GetUseColor());
        lldb::SBTarget target = debugger.GetSelectedTarget();
        lldb::SBProcess process = target.GetProcess();
        if (const std::string why = why_unreadable(process); !why.empty()) return fail(result, why);
        if (mode_ == Mode::Objects) return run_objects(o, target, process, result);
        const bool one_thread = mode_ == Mode::Thread;
        lldb::SBThread selected = !one_thread ? lldb::SBThread()
                                  : o.thread  ? process.GetThreadByIndexID(*o.thread)
                                              : process.GetSelectedThread();
        if (one_thread && !selected.IsValid()) {
            return fail(result, o.thread ? "no thread #" + std::to_string(*o.thread) + " (see 'thread list')"
                                         : "no thread is selected");
        }
        Snapshot snapshot = read_snapshot(target, process, o, {}, mode_ == Mode::Tasks, mode_ == Mode::Locks);
        if (one_thread) {
            const std::vector<size_t> chosen = threads_numbered(snapshot, static_cast<int>(selected.GetIndexID()));
            std::vector<Thread> kept;
            for (size_t index : chosen) kept.push_back(std::move(snapshot.threads[index]));
            snapshot.threads = std::move(kept);
            if (snapshot.threads.empty()) {
                return fail(result, "thread #" + std::to_string(selected.GetIndexID()) + " (tid " +
                                        std::to_string(selected.GetThreadID()) +
                                        ") is not a Python thread (see 'stackscope all-threads')");
            }
        }
        print(snapshot, o, target, process, result);
    }

    void run_objects(const Options& o, lldb::SBTarget target, lldb::SBProcess process,
                     lldb::SBCommandReturnObject& result) const {
        std::vector<uint64_t> addresses;
        for (const std::string& text : o.objects) {
            std::string bad;
            addresses.push_back(object_address(text, target, process, bad));
            if (!bad.empty()) return fail(result, bad + " (see 'help stackscope " + name_ + "')");
        }
        print(read_snapshot(target, process, o, addresses), o, target, process, result);
    }

    // The output, and what the CLI would exit 1 for as warnings (the core's, as gdb's).
    static void print(const Snapshot& snapshot, const Options& o, lldb::SBTarget target, lldb::SBProcess process,
                      lldb::SBCommandReturnObject& result) {
        result.Printf("%s", render(snapshot, o, target, process).c_str());
        for (const std::string& warning : debugger_warnings(snapshot))
            result.AppendWarning(("stackscope: " + warning).c_str());
        result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
    }

    std::string name_;
    Mode mode_;
};

}  // namespace

}  // namespace stackscope_lldb

bool lldb::PluginInitialize(lldb::SBDebugger debugger) {
    using namespace stackscope_lldb;
    try {
        lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
        lldb::SBCommand top = interpreter.AddMultiwordCommand("stackscope", kHelp);
        if (!top.IsValid()) return false;
        top.SetHelpLong(kHelpLong);
        // LLDB keeps the command objects for the rest of the session. Enter does not repeat them.
        static const std::string all_syntax = "stackscope all-threads " + options_usage(Surface::Lldb);
        static const std::string thread_syntax = "stackscope thread [N] " + options_usage(Surface::Lldb);
        // lldb keeps the syntax string's pointer: a constant built once.
        static const std::string object_syntax = [] {
            std::string syntax = "stackscope object ADDR [ADDR...] " + options_usage(Surface::Lldb);
            if (const size_t native = syntax.find(" [--native]"); native != std::string::npos)
                syntax.erase(native, std::string_view(" [--native]").size());  // objects have no native frames
            return syntax;
        }();
        static const std::string tasks_syntax = "stackscope tasks " + options_usage(Surface::Lldb);
        static const std::string locks_syntax = "stackscope locks " + options_usage(Surface::Lldb);
        static const std::string options = options_help_long();
        static const std::string object_help =
            kObjectHelpLong + std::string("See 'help stackscope all-threads' for the options.\n");
        lldb::SBCommand all = top.AddCommand("all-threads", new Command("all-threads", Mode::AllThreads), kAllHelp,
                                             all_syntax.c_str(), "");
        lldb::SBCommand one =
            top.AddCommand("thread", new Command("thread", Mode::Thread), kThreadHelp, thread_syntax.c_str(), "");
        lldb::SBCommand objects =
            top.AddCommand("object", new Command("object", Mode::Objects), kObjectHelp, object_syntax.c_str(), "");
        lldb::SBCommand tasks =
            top.AddCommand("tasks", new Command("tasks", Mode::Tasks), kTasksHelp, tasks_syntax.c_str(), "");
        lldb::SBCommand locks =
            top.AddCommand("locks", new Command("locks", Mode::Locks), kLocksHelp, locks_syntax.c_str(), "");
        all.SetHelpLong(options.c_str());
        tasks.SetHelpLong(kTasksHelpLong);
        locks.SetHelpLong(kLocksHelpLong);
        one.SetHelpLong(options.c_str());
        objects.SetHelpLong(object_help.c_str());
        return all.IsValid() && one.IsValid() && objects.IsValid() && tasks.IsValid() && locks.IsValid();
    } catch (...) {
        return false;
    }
}
