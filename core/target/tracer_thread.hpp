#pragma once
// The thread that traces a stopped process. ptrace binds each tracee to the thread that
// attached it, and only that thread can detach it; a tracee that was seized but had not stopped
// yet (a thread in uninterruptible sleep) cannot be detached, and would stop for good once it
// wakes. When its tracer thread exits, the kernel releases every tracee that thread still holds,
// such ones included: so the attach and the detach run on a thread of their own, which exits
// after the detach, also inside a debugger or Python process that lives on.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace stackscope {

class TracerThread {
public:
    TracerThread() : thread_([this] { serve(); }) {}
    ~TracerThread() { finish(); }
    TracerThread(const TracerThread&) = delete;
    TracerThread& operator=(const TracerThread&) = delete;

    // Runs `work` on the tracer thread and waits for it; throws what it threw.
    void run(const std::function<void()>& work) {
        std::unique_lock lock(mutex_);
        work_ = &work;
        error_ = nullptr;
        changed_.notify_all();
        changed_.wait(lock, [&] { return work_ == nullptr; });
        if (error_) std::rethrow_exception(error_);
    }

    // Tells the thread to end (the kernel then releases what it still traces), without waiting
    // for it: finish() or the destructor does. No run() after this.
    void end() noexcept {
        {
            std::lock_guard lock(mutex_);
            quit_ = true;
        }
        changed_.notify_all();
    }

    // Ends the thread and waits for it. Safe to call again.
    void finish() noexcept {
        end();
        if (thread_.joinable()) thread_.join();
    }

private:
    void serve() {
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return work_ != nullptr || quit_; });
            if (work_ == nullptr) return;
            try {
                (*work_)();
            } catch (...) {
                error_ = std::current_exception();
            }
            work_ = nullptr;
            changed_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    const std::function<void()>* work_ = nullptr;
    std::exception_ptr error_;
    bool quit_ = false;
    std::thread thread_;  // last: started once the rest is ready
};

}  // namespace stackscope
