#pragma once
// What the debugger front-ends (gdb, lldb) share: how a debugger's process is read (which
// memory path, whose threads, whose symbols), how the debugger's threads are matched with
// the snapshot's, and what their registers and thread handles mean. A front-end describes
// its process (DebuggerProcess) and keeps only its commands, options and debugger API.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/callback_target.hpp"
#include "stackscope/core_file.hpp"
#include "stackscope/debugger/overlay_target.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/model.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

// Whether a mapped file may hold the runtime: the interpreter executable or libpython
// (extension modules such as foo.cpython-312-x86_64-linux-gnu.so do not).
bool is_python_file(const std::string& path);

// ---- threads ------------------------------------------------------------------------------

// One of the debugger's threads.
struct DebuggerThread {
    int number = 0;                      // the debugger's thread number (gdb's num, lldb's index id)
    int tid = 0;                         // kernel thread id (LWP), as seen from here
    std::optional<uint64_t> pthread_id;  // its pthread_t, when the debugger knows it
    // The kernel's view from the debugger's registers (kernel_view_from_registers); nullopt
    // when it did not read them.
    std::optional<int64_t> syscall = std::nullopt;
    uint64_t syscall_arg0 = 0;
    // Its registers (TargetThread::registers), when the debugger read them: a thread in
    // restart_syscall is named by the call it resumes.
    std::optional<std::array<uint64_t, kDwarfRegisterCount>> registers = std::nullopt;
};

// A pthread_t from a debugger's thread handle (gdb's InferiorThread.handle(): the pthread_t's
// bytes, little-endian on x86-64); nullopt unless it has 8 bytes.
std::optional<uint64_t> pthread_from_handle(std::span<const uint8_t> handle);

struct KernelView {
    int64_t syscall = -1;  // the system call the thread is blocked in; -1: none (user code)
    uint64_t syscall_arg0 = 0;
};

// What a stopped thread's registers say it was doing: orig_rax (the system call, all ones for
// none; a debugger may show it signed or unsigned) and rdi (its first argument), as 64-bit values.
KernelView kernel_view_from_registers(uint64_t orig_rax, uint64_t rdi);

// Whether a thread whose orig_rax is this must have all its registers read too: in
// restart_syscall, the call it resumes is named from them. A debugger reads them only then
// (gdb reads each register of each thread with a call of its own).
bool needs_registers(uint64_t orig_rax);

// The debugger's threads as the core's TargetThreads, each with the kernel's view of it from,
// in this order: the debugger's registers, `kernel` (/proc, or the core's own notes, by tid),
// else unknown. A pthread_t the debugger lacks is taken from `kernel` too.
std::vector<TargetThread> merge_kernel_view(const std::vector<DebuggerThread>& threads,
                                            const std::vector<TargetThread>& kernel);

// Sets each snapshot thread's debugger_thread: the debugger's thread with its tid, else the one
// with its pthread_t; unset when neither matches.
void number_threads(Snapshot& snapshot, const std::vector<DebuggerThread>& threads);

// Indices of the snapshot's threads whose debugger_thread is `number` (at most one, unless
// the debugger numbers two threads alike).
std::vector<size_t> threads_numbered(const Snapshot& snapshot, int number);

// ---- the process ----------------------------------------------------------------------------

enum class DebuggerTargetKind {
    LocalLive,  // a live process on this machine (the debugger has it stopped)
    // A live process that may be on this machine, or only have its pid here (a remote server
    // on another host or in another PID namespace, a replay): LocalLive when same_local_process
    // says /proc/PID is it, else Other.
    MaybeLocalLive,
    Core,   // a core file
    Other,  // anything else (a remote target): only the debugger can read it
};

enum class MemoryPath {
    Auto,      // directly where possible (a live process here, a core file the debugger names)
    Debugger,  // always through the debugger's callbacks (slower)
};

struct DebuggerProcess {
    DebuggerTargetKind kind = DebuggerTargetKind::Other;
    int pid = 0;
    // The debugger's threads. `with_registers`: also each one's kernel view and registers, asked
    // when nothing else can tell (neither /proc nor a core file is read) and when a thread is in
    // restart_syscall (its registers name the call it resumes).
    std::function<std::vector<DebuggerThread>(bool with_registers)> threads;
    // MaybeLocalLive: the debugger's executable file of the process ("": not compared).
    std::string executable;
    // Core: the core file, when the debugger says which (else it is read through the debugger).
    std::string core_path;
    CoreFileOptions core_options;
    // Reading through the debugger: `read` is required; `regions` and `local_file` are used;
    // threads, lookup_symbol, pid and source_root are set by open_debugger_target.
    TargetCallbacks callbacks;
    // The debugger's symbols, asked when the target knows no address for a name; may be empty.
    // Read directly, the target's own files answer first: see read_debugger_snapshot.
    SymbolLookup lookup_symbol;
};

// Whether /proc/PID on this machine is the process a debugger describes: its executable is the
// file `executable` (same device and inode; not compared when "") and its threads are exactly
// `tids` (the debugger has it stopped: none come or go). False when /proc cannot tell.
bool same_local_process(int pid, const std::string& executable, std::vector<int> tids);

struct DebuggerTarget {
    std::unique_ptr<OverlayTarget> target;
    std::vector<DebuggerThread> threads;  // as the debugger listed them
    bool direct = false;                  // a LiveProcess or CoreFile inside, not the debugger's callbacks
};

// The target that reads `process`: with MemoryPath::Auto a LocalLive process (or a
// MaybeLocalLive one that same_local_process confirms) is read as a LiveProcess that stops
// nothing (the debugger has it stopped; any Error opening it falls back to the debugger), a
// Core with a core_path as a CoreFile (the same); anything else through the callbacks.
// Always an OverlayTarget with the debugger's threads (merge_kernel_view); with its symbols
// when read through the debugger (not `direct`). Throws Error (Usage without a read callback
// where one is needed).
DebuggerTarget open_debugger_target(const DebuggerProcess& process, MemoryPath memory);

// open_debugger_target, take_snapshot, number_threads and (with `sources`) the source lines;
// with `objects`, the stacks of the objects at those addresses instead of the threads; with
// `locals`, each frame's variables (--locals); with `tasks`, every asyncio task (`tasks`); with
// `locks`, who holds and waits for each lock (--locks).
// A target read directly is read first without the debugger's symbols (asking a debugger is
// slow: gdb's took a quarter of a read), and again with them only when no runtime was found
// (separate debug files the debugger found, say). A core read directly that fails even so (its
// files here are another build's, which the debugger's sysroot finds right) is read again
// through the debugger. Throws Error(UnsupportedRuntime) when the process runs no supported
// Python; when a core fails both ways, the direct read's error.
Snapshot read_debugger_snapshot(const DebuggerProcess& process, MemoryPath memory, bool sources = true,
                                std::span<const uint64_t> objects = {}, bool locals = false, bool tasks = false,
                                bool locks = false);

// ---- a command's output -------------------------------------------------------------------

// What a debugger's command (gdb's py-stackscope, lldb's stackscope) prints below its headers,
// composed alike by both: `blocks` (the objects' stacks, then each thread's header and stack:
// only the front-end has the debugger's frames and numbers) joined by blank lines, then the
// CLI's text below its threads for a snapshot read with tasks (`flat`: as --flat) and locks.
std::string compose_debugger_text(const Snapshot& snapshot, const std::vector<std::string>& blocks, bool flat,
                                  const TreeOptions& options);

// What the command warns about where the CLI exits 1 (each without the command's name): no
// Python thread, or something read only in part: the objects asked for, else the threads
// `shown` (every one when nullopt) and the tasks. A warning, not a failure: the output stands.
std::vector<std::string> debugger_warnings(const Snapshot& snapshot,
                                           const std::optional<std::vector<size_t>>& shown = std::nullopt);

// ---- tasks ------------------------------------------------------------------------------

// What the CLI's --tasks prints after the threads (each event loop's task trees, or that there
// are none), in the tree or the flat listing, for a front-end that prints the threads itself
// with its own headers (gdb's `py-stackscope tasks`, lldb's `stackscope tasks`): the same text
// the CLI prints below its threads. "" when the snapshot was read without tasks.
std::string format_debugger_tasks_tree(const Snapshot& snapshot, const TreeOptions& options);
std::string format_debugger_tasks_flat(const Snapshot& snapshot, const FlatOptions& options);

// A thread's header line `line` (ending in ':') with what the CLI's header says of the task its
// loop is running, ` (running task 'NAME')`, before the ':'; `line` as it is when it runs none.
std::string with_running_task(std::string line, const Snapshot& snapshot, const Thread& thread);

// The snapshot as if read without tasks (a debugger's snapshot read with them, shown by a
// command that did not ask for them): no task list, no thread's running loop or task.
Snapshot without_tasks(Snapshot snapshot);

// ---- locks ------------------------------------------------------------------------------

// What the CLI's --locks prints after the threads (the deadlocks, each lock's holders and
// waiters, the unidentified waits), for gdb's `py-stackscope locks` and lldb's `stackscope
// locks`; "" when the snapshot was read without locks.
std::string format_debugger_locks(const Snapshot& snapshot, bool color);
// The snapshot as if read without locks (its contexts' lock states dropped too).
Snapshot without_locks(Snapshot snapshot);

}  // namespace stackscope
