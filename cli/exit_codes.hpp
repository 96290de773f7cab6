#pragma once
// The CLI's exit codes: the one place that turns what happened (an ErrorKind) into how the
// command exits. The table is also the --help footer and the README's.
#include "stackscope/error.hpp"

namespace stackscope::cli {

enum ExitCode : int {
    kExitComplete = 0,  // every thread was read
    kExitPartial = 1,   // some thread or object could not be read (the output says which)
    kExitUsage = 2,
    kExitNotPython = 3,   // not a Python process, or an unsupported Python version
    kExitPermission = 4,  // permission denied, or the process is already traced
    kExitBadInput = 5,    // no such process or file, not a core file, truncated, another build's file
    kExitInternal = 6,    // a bug in stackscope
    kExitOutput = 7,      // the output could not be written in full (a full disk, ...)
};

inline constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  every thread (or object, and with --tasks every task) was read\n"
    "  1  partial: some thread, object or task (or the task list) could not be read (the output says which)\n"
    "  2  usage error\n"
    "  3  not a Python process, or an unsupported Python version\n"
    "  4  permission denied (or the process is already traced)\n"
    "  5  unreadable or invalid input (no such process, not a core file, truncated core, a file of another build,\n"
    "     memory that the whole read depends on unreadable)\n"
    "  6  internal error (a bug in stackscope: please report it)\n"
    "  7  the output could not be written in full (e.g. no space left on the device)\n";

// For an error that ended the whole read: nothing was printed, so it is never "partial" (1).
inline int exit_code_of(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::UnreadableMemory:
        case ErrorKind::InconsistentData: return kExitBadInput;
        case ErrorKind::UnsupportedRuntime: return kExitNotPython;
        case ErrorKind::PermissionDenied: return kExitPermission;
        case ErrorKind::NoSuchTarget:
        case ErrorKind::BadInput: return kExitBadInput;
        case ErrorKind::Usage: return kExitUsage;
        case ErrorKind::Internal: return kExitInternal;
    }
    return kExitInternal;
}

}  // namespace stackscope::cli
