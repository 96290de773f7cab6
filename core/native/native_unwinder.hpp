#pragma once
// Native (C, C++) stacks through elfutils' libdwfl, driven by this tool's own target: threads'
// registers from the target (stopped threads, a core's notes), memory through its page cache,
// and the mapped files from Target::local_file (/proc/PID/map_files, --executable,
// --lib-search-path, build-id checks), never libdwfl's own /proc or core-file defaults.
// CFI first; libdwfl's x86-64 frame-pointer unwinder where there is none.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stackscope/model.hpp"
#include "stackscope/target.hpp"
#include "target/remote_memory.hpp"

namespace stackscope {

// One thread's native frames, newest first, and why they end early (or are missing).
struct NativeStack {
    std::vector<NativeStackFrame> frames;
    std::optional<std::string> error;
};

struct DwflSession;

class NativeUnwinder {
public:
    static constexpr size_t kMaxFrames = 1024;

    // `interpreter_file`: the file that holds _PyRuntime, as the target names it; its frames are
    // marked NativeStackFrame::interpreter, and named from its symbol table alone unless
    // `interpreter_in_full` (SnapshotOptions::native_interpreter_in_full).
    NativeUnwinder(RemoteMemory& memory, std::string interpreter_file, bool interpreter_in_full = true);
    ~NativeUnwinder();
    NativeUnwinder(const NativeUnwinder&) = delete;
    NativeUnwinder& operator=(const NativeUnwinder&) = delete;

    // The thread's frames, from its registers (none: an error saying so).
    NativeStack unwind(const TargetThread& thread);

    // The system call a thread in restart_syscall is really waiting in, as its first read named
    // it: from the libc function its native stack is in (the first frames whose symbols cover
    // their pcs, libc's internal prefixes taken off: "__GI___poll" -> "poll"), "futex" for
    // libc's futex waits; nullopt when nothing says.
    std::optional<std::string> blocking_function(const TargetThread& thread);

private:
    std::unique_ptr<DwflSession> session_;
    bool interpreter_in_full_;
};

}  // namespace stackscope
