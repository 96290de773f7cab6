#pragma once
// Native frames for one snapshot (--native): every thread's, and the threads that run no Python
// code listed with theirs; and, without --native too, the function a thread resumed as
// restart_syscall is really blocked in. One libdwfl session, opened when first needed.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "extract/extraction.hpp"
#include "native/native_unwinder.hpp"
#include "stackscope/model.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

class NativeThreads {
public:
    // `interpreter_in_full`: SnapshotOptions::native_interpreter_in_full.
    explicit NativeThreads(Extraction& x, bool interpreter_in_full = true)
        : x_(x), interpreter_in_full_(interpreter_in_full) {}

    // Opens the libdwfl session now, so that what it prepares ahead (inflated debug files) is
    // done while the Python frames are read.
    void start() { unwinder(); }

    // For a thread in restart_syscall: the function its native stack is blocked in; else nullopt.
    std::optional<std::string> resumed_in(const TargetThread& kernel);

    // Sets each thread's native frames (Thread::native), then appends a thread for each of
    // `kernel_threads` that has no Python thread state, with its native frames and activity.
    void add_native_stacks(std::vector<Thread>& threads, const std::vector<TargetThread>& kernel_threads);

private:
    NativeUnwinder& unwinder();

    Extraction& x_;
    bool interpreter_in_full_;
    std::unique_ptr<NativeUnwinder> unwinder_;
};

}  // namespace stackscope
