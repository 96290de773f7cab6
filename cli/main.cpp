// stackscope: Python stacks of a live process or a core file, read from outside.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stackscope/core_file.hpp"
#include "stackscope/error.hpp"
#include "exit_codes.hpp"
#include "huge_pages.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/helper_thread.hpp"
#include "stackscope/live_process.hpp"
#include "stackscope/options.hpp"
#include "stackscope/snapshot.hpp"
#include "stackscope/source_files.hpp"

namespace {

using namespace stackscope;
using namespace stackscope::cli;

// The output options of the table (stackscope/options.hpp) as CLI11 options of `cmd`. CLI11
// only collects them: apply_output_options() gives them meaning and checks how they combine,
// as gdb and lldb do.
void add_output_options(CLI::App* cmd) {
    for (const OptionSpec& option : output_options()) {
        if (find_option(Surface::Cli, option.name) != &option) continue;
        const std::string name = "--" + std::string(option.name);
        CLI::Option* added =
            // A flag takes no value (`--flat=false` is refused), as in gdb and lldb.
            option.value.empty() ? cmd->add_flag(name)->disable_flag_override()
                                 : cmd->add_option(name)->type_name(std::string(option.value));
        added->description(option_description(Surface::Cli, option))
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
}

// --object ADDR, repeatable: the objects to show instead of the threads.
void add_object_option(CLI::App* cmd, std::vector<std::string>& addresses) {
    cmd->add_option("--object", addresses,
                    "Show the stack of the object at ADDR (0x-hex or decimal, as id() prints it) instead of the "
                    "threads: a generator, coroutine or async generator and what it awaits, an asyncio Task or "
                    "Future, a threading.Thread. Repeat --object for more objects; one that cannot be read gets an "
                    "error (exit 1). Not with --tasks, --locks or --native, which show threads")
        ->type_name("ADDR")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// The table's options `cmd` was given, in order, applied; a usage error (one line) or "".
std::string apply_output_options(const CLI::App* cmd, OutputOptions& out) {
    std::vector<GivenOption> given;
    std::map<const CLI::Option*, size_t> taken;  // values of each option used so far
    for (const CLI::Option* option : cmd->parse_order()) {
        const std::string name = option->get_name().substr(2);
        const OptionSpec* spec = find_option(Surface::Cli, name);
        if (!spec) continue;  // not an output option (--no-block, --executable, ...)
        size_t& index = taken[option];
        given.push_back(
            {name, spec->value.empty() || index >= option->results().size() ? "" : option->results()[index++]});
    }
    return apply_options(Surface::Cli, given, out);
}

std::optional<std::string_view> environment(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string_view>(value) : std::nullopt;
}

// How long a live target was stopped (attach to detach); nullopt for a core or --no-block.
using StoppedFor = std::optional<std::chrono::duration<double, std::milli>>;

// A pipe holds 64 KiB: a longer text (ten thousand tasks make megabytes) is written a pipeful
// at a time, each time waiting for the reader. Best effort: the reader still gets it all.
void widen_output_pipe(size_t bytes) {
    struct stat st {};
    if (fstat(STDOUT_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
    const int size = fcntl(STDOUT_FILENO, F_GETPIPE_SZ);
    if (size < 0 || bytes <= static_cast<size_t>(size)) return;
    // 1 MiB: the default /proc/sys/fs/pipe-max-size, above which users are refused.
    (void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, static_cast<int>(std::min<size_t>(bytes, size_t{1} << 20)));
}

// Standard output, written in order, a text or many pieces at a time, with as few calls as the
// kernel allows. Once the reader has gone (EPIPE, when SIGPIPE is ignored: `| head` is not a
// failure; when it is not ignored, it ends the process first) or a write failed, the rest is
// dropped.
class StandardOutput {
public:
    // Writes the pieces after what was written before. `expected`: about how much will be
    // written in all, to widen the pipe for.
    void write(const std::vector<std::string_view>& pieces, size_t expected) {
        if (ended_) return;
        if (!started_) {
            widen_output_pipe(expected);
            std::cout.flush();
            started_ = true;
        }
        std::vector<iovec> iov;
        iov.reserve(pieces.size());
        for (const std::string_view piece : pieces) {
            if (!piece.empty()) iov.push_back({const_cast<char*>(piece.data()), piece.size()});
        }
        if (const std::optional<std::string> failed = write_all(iov)) {
            failure_ = *failed;
            ended_ = true;
        }
    }
    // Why the output is incomplete; "" when all was written or the reader has gone.
    const std::string& failure() const { return failure_; }

private:
    // nullopt once all is written; "" once the reader has gone; else what failed.
    static std::optional<std::string> write_all(std::vector<iovec>& iov);

    bool started_ = false;
    bool ended_ = false;
    std::string failure_;
};

std::optional<std::string> StandardOutput::write_all(std::vector<iovec>& iov) {
    size_t next = 0;
    while (next < iov.size()) {
        const int count = static_cast<int>(std::min<size_t>(iov.size() - next, IOV_MAX));
        const ssize_t wrote = writev(STDOUT_FILENO, iov.data() + next, count);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // A standard output left non-blocking by whoever started us.
            pollfd ready{STDOUT_FILENO, POLLOUT, 0};
            (void)poll(&ready, 1, -1);
            continue;
        }
        if (wrote < 0 && errno == EPIPE) return "";
        if (wrote < 0) return std::string(std::strerror(errno));
        if (wrote == 0) return "nothing more could be written";
        // Past what was written: whole pieces, then into the first one written in part.
        for (size_t left = static_cast<size_t>(wrote); left > 0;) {
            iovec& piece = iov[next];
            const size_t taken = std::min(left, piece.iov_len);
            piece.iov_base = static_cast<char*>(piece.iov_base) + taken;
            piece.iov_len -= taken;
            left -= taken;
            if (piece.iov_len == 0) ++next;
        }
    }
    return std::nullopt;
}

// `snap`'s task stacks are given up to the text.
int emit(Snapshot& snap, const OutputOptions& out, const ExtractionStats& stats, bool debug_reads, HelperThread& helper,
         StoppedFor stopped_for = std::nullopt) {
    const bool color = use_color(
        out.color, terminal_allows_color(isatty(STDOUT_FILENO), environment("NO_COLOR"), environment("TERM")));
    StandardOutput output;
    // A long task list's text is written as it is made, while its last runs are still being
    // made (the reader takes its share of the time meanwhile): the pipe is widened for it.
    const TextSink sink = [&](std::string_view text) { output.write({text}, SIZE_MAX); };
    const TreeOptions tree{out.ascii, out.show_hidden, color, &helper, &sink};
    TextPieces text;
    if (out.format == OutputFormat::Json) {
        text.push_back(format_snapshot_json(snap, 2, out.native_all));
    } else if (out.format == OutputFormat::Flat) {
        text.push_back(format_snapshot_flat(snap, FlatOptions{out.show_hidden, color}));
    } else if (out.native || out.native_all) {
        text.push_back(format_snapshot_tree_with_natives(snap, tree, out.native_all));
    } else {
        text = format_snapshot_tree_taking_task_stacks(snap, tree);
    }
    size_t total = 0;
    for (const std::string& piece : text) total += piece.size();
    output.write(std::vector<std::string_view>(text.begin(), text.end()), total);
    if (!output.failure().empty()) {
        std::cerr << "stackscope: cannot write the output: " << output.failure() << "\n";
        return kExitOutput;
    }
    if (debug_reads) {
        std::cerr << "stackscope: " << stats.target_reads << " target read calls (" << stats.requested_reads
                  << " asked of the page cache), " << stats.stack_rereads << " stacks read again";
        if (stats.task_readers > 1) std::cerr << ", tasks read by " << stats.task_readers << " threads";
        if (stopped_for)
            std::cerr << ", target stopped for " << std::fixed << std::setprecision(1) << stopped_for->count() << " ms";
        std::cerr << "\n";
    }
    bool tasks_partial = snap.tasks_error.has_value();
    for (const Task& t : snap.tasks) tasks_partial = tasks_partial || t.stack.error.has_value();
    if (tasks_partial) std::cerr << "stackscope: some tasks could not be read completely (see their errors)\n";
    if (snap.objects_asked) {
        if (snap.partial()) {
            if (!tasks_partial)
                std::cerr << "stackscope: some objects could not be read completely (see their errors)\n";
            return kExitPartial;
        }
    } else if (snap.threads.empty()) {
        std::cerr << "stackscope: the interpreter has no threads\n";
    } else if (snap.partial()) {
        if (!tasks_partial || std::any_of(snap.threads.begin(), snap.threads.end(),
                                          [](const Thread& t) { return t.stack.error.has_value(); }))
            std::cerr << "stackscope: some threads could not be read completely (see their errors)\n";
        return kExitPartial;
    }
    return tasks_partial ? kExitPartial : kExitComplete;
}

// Holds termination and job-control signals back while the target is stopped, so that the
// tool can neither die nor be suspended with the target's threads still stopped; they are
// delivered once it is detached.
class DeferTerminationSignals {
public:
    DeferTerminationSignals() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGQUIT);
        sigaddset(&set, SIGTSTP);
        sigprocmask(SIG_BLOCK, &set, &previous_);
    }
    ~DeferTerminationSignals() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }
    DeferTerminationSignals(const DeferTerminationSignals&) = delete;
    DeferTerminationSignals& operator=(const DeferTerminationSignals&) = delete;

private:
    sigset_t previous_;
};

#ifdef STACKSCOPE_TEST_HOOKS
// Test hooks, compiled only into build/stackscope-test-hooks (cmake -DSTACKSCOPE_TEST_HOOKS=ON),
// never into the stackscope that is installed: its environment cannot change what it does.

// Tests make the command fail as a bug would (an unexpected C++ exception), to check exit 6.
void test_only_internal_error() {
    const char* value = std::getenv("STACKSCOPE_TEST_INTERNAL_ERROR");
    if (value && std::string(value) == "1") throw std::logic_error("STACKSCOPE_TEST_INTERNAL_ERROR is set");
}

// Tests hold the target stopped (or, with --no-block, the read open) to watch it from outside.
void test_only_pause() {
    if (const char* ms = std::getenv("STACKSCOPE_TEST_PAUSE_MS")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
    }
}

// Tests force the /proc/PID/mem path that is otherwise taken only when process_vm_readv fails.
bool test_only_proc_mem() {
    const char* value = std::getenv("STACKSCOPE_TEST_PROC_MEM");
    return value && std::string(value) == "1";
}
#else
void test_only_internal_error() {}
void test_only_pause() {}
bool test_only_proc_mem() { return false; }
#endif

// An --object address: 0x-hex or decimal (what id() prints).
std::string parse_address(const std::string& text, uint64_t& out) {
    const bool is_hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const std::string digits = is_hex ? text.substr(2) : text;
    const int base = is_hex ? 16 : 10;
    if (digits.empty() || digits.size() > 20) return "--object: '" + text + "' is not an address";
    for (const char c : digits) {
        if (!(is_hex ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(static_cast<unsigned char>(c))))
            return "--object: '" + text + "' is not an address (0x-hex or decimal)";
    }
    errno = 0;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(digits.c_str(), &end, base);
    if (errno == ERANGE || *end != '\0') return "--object: '" + text + "' is out of range";
    if (value == 0) return "--object: 0 is no object's address";
    out = value;
    return "";
}

int run_pid(int pid, bool no_block, const std::vector<uint64_t>& objects, const OutputOptions& out, bool debug_reads,
            HelperThread& helper) {
    Snapshot snap;
    ExtractionStats stats;
    StoppedFor stopped_for;
    {
        // Nothing is stopped with --no-block: Ctrl-C ends the read at once.
        std::optional<DeferTerminationSignals> defer;
        if (!no_block) defer.emplace();
        const auto attached = std::chrono::steady_clock::now();
        LiveProcess process = [&] {
            const OrdinaryPagesMeanwhile ordinary;  // for the thread it attaches from
            return LiveProcess(
                pid, LiveProcess::Options{.stop_threads = !no_block, .use_process_vm_readv = !test_only_proc_mem()});
        }();
        // The helper reads half a long task list: started now, its own first region (a huge page)
        // is made while this thread reads the threads. It takes this thread's signal mask, with
        // the termination signals held back.
        if (out.tasks) helper.start();
        // Source files are named by the target and may be slow to read: only once it runs again.
        SourceFiles sources(process.source_root());
        bool detached = false;
        // As soon as the snapshot needs no more of the target's memory (ordering the tasks does not).
        const auto resume = [&] {
            if (detached) return;
            test_only_pause();
            test_only_internal_error();  // while the target is stopped: the destructor must still detach
            process.detach();
            detached = true;
            if (!no_block) stopped_for = std::chrono::steady_clock::now() - attached;
        };
        snap = take_snapshot(process, &stats,
                             SnapshotOptions{.target_running = no_block,
                                             .objects = objects,
                                             .contexts = !out.no_contexts,
                                             .locals = out.locals,
                                             .tasks = out.tasks,
                                             .locks = out.locks,
                                             .native = out.native || out.native_all,
                                             .native_interpreter_in_full = out.native_all,
                                             .helper = &helper,
                                             .sources = &sources},
                             resume);
        resume();
    }
    return emit(snap, out, stats, debug_reads, helper, stopped_for);
}

int run_core(const std::string& path, const CoreFileOptions& core_options, const std::vector<uint64_t>& objects,
             const OutputOptions& out, bool debug_reads, HelperThread& helper) {
    if (out.tasks) helper.start();
    CoreFile core(path, core_options);
    SourceFiles sources(core.source_root());
    ExtractionStats stats;
    Snapshot snap = take_snapshot(core, &stats,
                                  SnapshotOptions{.objects = objects,
                                                  .contexts = !out.no_contexts,
                                                  .locals = out.locals,
                                                  .tasks = out.tasks,
                                                  .locks = out.locks,
                                                  .native = out.native || out.native_all,
                                                  .native_interpreter_in_full = out.native_all,
                                                  .helper = &helper,
                                                  .sources = &sources});
    test_only_internal_error();
    return emit(snap, out, stats, debug_reads, helper);
}

std::vector<std::string> split_path_list(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ':')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    use_huge_pages_for_heap();
    CLI::App app{
        "stackscope: show what a Python program is doing, from outside the process.\n"
        "Reads every thread's Python stack from a live process or a core file."};
    app.footer(kExitCodesHelp);
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the subcommand too
    bool debug_reads = false;
    app.add_flag("--debug-reads", debug_reads,
                 "Print how many read calls reached the target (and were asked of the page cache before it) and how "
                 "long a live one was stopped (on stderr)");

    int pid = 0;
    bool no_block = false;
    CLI::App* pid_cmd = app.add_subcommand(
        "pid", "Read a live process (its threads are stopped while it is read, then resumed; not with --no-block)");
    pid_cmd->add_option("PID", pid, "Process id")->required();
    pid_cmd->add_flag("--no-block", no_block,
                      "Read without stopping the process (no ptrace): a stack that changes while it is read is walked "
                      "again, up to " +
                          std::to_string(SnapshotOptions{}.attempts) +
                          " walks in all, then reported as changed (exit 1)");
    std::vector<std::string> object_args;
    add_object_option(pid_cmd, object_args);
    add_output_options(pid_cmd);

    std::string core_path, lib_search_path;
    CoreFileOptions core_options;
    CLI::App* core_cmd = app.add_subcommand(
        "core",
        "Read a core file (made by gcore or by the kernel). A crash core's output starts with the process and the "
        "signal that killed it, and lists the thread that received it first. From Python 3.13 on the core alone "
        "is enough; before, the interpreter's files are needed.");
    core_cmd->add_option("CORE", core_path, "Core file (e.g. made by gcore)")->required();
    core_cmd->add_option("--executable", core_options.executable,
                         "The Python executable, when it is not where the core says");
    core_cmd->add_option("--lib-search-path", lib_search_path,
                         "Directories (DIR[:DIR...]) searched by file name for the libraries the core names");
    core_cmd->add_flag("--force", core_options.force,
                       "Use the executable and libraries found even when their build id differs from the core's");
    add_object_option(core_cmd, object_args);
    add_output_options(core_cmd);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "stackscope: " << e.what() << " (see stackscope --help)\n";
        return kExitUsage;
    }

    OutputOptions out;
    if (const std::string bad = apply_output_options(pid_cmd->parsed() ? pid_cmd : core_cmd, out); !bad.empty()) {
        std::cerr << "stackscope: " << bad << " (see stackscope --help)\n";
        return kExitUsage;
    }

    if ((out.native || out.native_all) && no_block) {
        std::cerr << "stackscope: --native needs the threads' registers: not with --no-block (see stackscope --help)\n";
        return kExitUsage;
    }
    if ((out.native || out.native_all) && !object_args.empty()) {
        std::cerr << "stackscope: --native shows threads: not with --object (see stackscope --help)\n";
        return kExitUsage;
    }
    if ((out.tasks || out.locks) && !object_args.empty()) {
        std::cerr << "stackscope: --object shows the objects instead of the threads: not with "
                  << (out.tasks ? "--tasks" : "--locks") << " (see stackscope --help)\n";
        return kExitUsage;
    }

    std::vector<uint64_t> objects;
    for (const std::string& text : object_args) {
        uint64_t address = 0;
        if (const std::string bad = parse_address(text, address); !bad.empty()) {
            std::cerr << "stackscope: " << bad << " (see stackscope --help)\n";
            return kExitUsage;
        }
        objects.push_back(address);
    }

    // The second thread of a long task list's read and text, one for both. Never ended: the
    // process's exit ends it, without first handing its allocator's memory back (helper_thread.hpp).
    static HelperThread* const helper = new HelperThread;
    try {
        if (pid_cmd->parsed()) return run_pid(pid, no_block, objects, out, debug_reads, *helper);
        core_options.lib_search_path = split_path_list(lib_search_path);
        return run_core(core_path, core_options, objects, out, debug_reads, *helper);
    } catch (const Error& e) {
        // Messages name files and text the target gave (a core's file notes): shown, not obeyed.
        std::cerr << "stackscope: " << (e.kind() == ErrorKind::Internal ? "internal error: " : "")
                  << printable_text(e.what()) << "\n";
        return exit_code_of(e.kind());
    } catch (const std::exception& e) {
        std::cerr << "stackscope: internal error: " << printable_text(e.what()) << "\n";
        return kExitInternal;
    } catch (...) {
        std::cerr << "stackscope: internal error\n";
        return kExitInternal;
    }
}
