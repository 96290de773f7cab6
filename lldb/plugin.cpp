// stackscope's LLDB front-end: `stackscope all-threads` and `stackscope thread [N]` render
// what the core reads from the process or core file LLDB debugs. All CPython knowledge is
// in the core, and the options are its table's (stackscope/options.hpp); this file checks
// the thread argument, names threads the way LLDB does and lists LLDB's native frames with
// the Python frames the core places among them (--native).
#include <lldb/API/LLDB.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

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
    "See 'help stackscope all-threads' for the options.\n";
constexpr const char* kAllHelp =
    "Print the Python stack of every Python thread, headed with lldb's thread index and tid.";
constexpr const char* kThreadHelp =
    "Print the Python stack of one thread: lldb's thread index N (default: the selected thread).";

std::string options_help_long() {
    return "Options:\n" + options_help(Surface::Lldb) +
           "JSON follows stackscope's docs/schema-v1.json; each thread's\n"
           "\"debugger_thread\" is its lldb thread index. --native shows lldb's frames\n"
           "as [native] lines, outermost first: the Python frames each call of the\n"
           "eval loop runs follow its frame (_PyEval_EvalFrameDefault).\n"
           "Live processes are read directly (process_vm_readv), cores and other\n"
           "targets through LLDB. STACKSCOPE_LLDB_READS=lldb in lldb's environment\n"
           "makes it read through LLDB's SB API instead (slower for live processes).\n";
}

struct Options {
    OutputOptions output;
    std::optional<uint32_t> thread;
};

// What is wrong with the arguments; empty when nothing is.
std::string parse(char** argv, bool one_thread, Options& o) {
    std::vector<std::string> words;
    for (; argv && *argv; ++argv) words.emplace_back(*argv);
    ParsedOptions parsed = parse_options(Surface::Lldb, words);
    if (!parsed.error.empty()) return parsed.error;
    o.output = parsed.options;
    for (const std::string& word : parsed.positional) {
        if (!one_thread || o.thread) return "unexpected argument '" + word + "'";
        std::string_view arg = word;
        if (arg.starts_with("#")) arg.remove_prefix(1);
        if (arg.empty() || arg.size() > 9 || arg.find_first_not_of("0123456789") != std::string_view::npos) {
            return "'" + word + "' is not a thread index (see 'thread list')";
        }
        o.thread = static_cast<uint32_t>(std::stoul(std::string(arg)));
    }
    return {};
}

Snapshot read_snapshot(lldb::SBTarget target, lldb::SBProcess process) {
    const char* reads = std::getenv("STACKSCOPE_LLDB_READS");
    const MemoryPath memory = reads && std::string_view(reads) == "lldb" ? MemoryPath::Debugger : MemoryPath::Auto;
    return read_debugger_snapshot(describe_process(target, process), memory);
}

std::string header(const Thread& t) {
    return "thread" + (t.debugger_thread ? " #" + std::to_string(*t.debugger_thread) : std::string()) +
           (t.tid ? " (tid " + std::to_string(*t.tid) + ")" : " (tid unknown)") + format_thread_details(t) + ":\n";
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
    return format_stack_with_natives(t.stack, lines, {{o.output.ascii, o.output.show_hidden}, "lldb"});
}

std::string render(const Snapshot& snapshot, const Options& o, lldb::SBTarget target, lldb::SBProcess process) {
    if (o.output.format == OutputFormat::Json) return format_snapshot_json(snapshot);
    std::string out;
    for (const Thread& t : snapshot.threads) {
        if (!out.empty()) out += "\n";
        out += header(t);
        if (o.output.native) {
            lldb::SBThread thread =
                t.debugger_thread ? process.GetThreadByIndexID(*t.debugger_thread) : lldb::SBThread();
            out += native_stack(t, thread, target, o);
        } else {
            out += o.output.format == OutputFormat::Flat
                       ? format_stack_flat(t.stack, o.output.show_hidden)
                       : format_stack_tree(t.stack, {o.output.ascii, o.output.show_hidden});
        }
    }
    return out;
}

class Command final : public lldb::SBCommandPluginInterface {
public:
    Command(std::string name, bool one_thread) : name_(std::move(name)), one_thread_(one_thread) {}

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
        if (const std::string bad = parse(argv, one_thread_, o); !bad.empty()) {
            return fail(result, bad + " (see 'help stackscope " + name_ + "')");
        }
        lldb::SBTarget target = debugger.GetSelectedTarget();
        lldb::SBProcess process = target.GetProcess();
        if (!process.IsValid()) {
            return fail(
                result,
                "no process: attach to one (process attach -p PID) or load a core (target create EXE --core CORE)");
        }
        const lldb::StateType state = process.GetState();
        if (state != lldb::eStateStopped && state != lldb::eStateCrashed && state != lldb::eStateSuspended) {
            return fail(result, "the process is not stopped (stop it with 'process interrupt')");
        }
        lldb::SBThread selected = !one_thread_ ? lldb::SBThread()
                                  : o.thread   ? process.GetThreadByIndexID(*o.thread)
                                               : process.GetSelectedThread();
        if (one_thread_ && !selected.IsValid()) {
            return fail(result, o.thread ? "no thread #" + std::to_string(*o.thread) + " (see 'thread list')"
                                         : "no thread is selected");
        }
        Snapshot snapshot = read_snapshot(target, process);
        if (one_thread_) {
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
        result.Printf("%s", render(snapshot, o, target, process).c_str());
        if (snapshot.threads.empty()) result.AppendWarning("stackscope: the interpreter has no threads");
        if (snapshot.partial())
            result.AppendWarning("stackscope: some threads could not be read completely (see their errors)");
        result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
    }

    std::string name_;
    bool one_thread_;
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
        static const std::string options = options_help_long();
        lldb::SBCommand all =
            top.AddCommand("all-threads", new Command("all-threads", false), kAllHelp, all_syntax.c_str(), "");
        lldb::SBCommand one =
            top.AddCommand("thread", new Command("thread", true), kThreadHelp, thread_syntax.c_str(), "");
        all.SetHelpLong(options.c_str());
        one.SetHelpLong(options.c_str());
        return all.IsValid() && one.IsValid();
    } catch (...) {
        return false;
    }
}
