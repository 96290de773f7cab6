#pragma once
// One more thread for the long lists of one command (ten thousand asyncio tasks read, then
// their text written), kept from one list to the next. A thread that ends hands what its
// allocator kept for it over to the others, and with mimalloc that costs milliseconds (about
// six million instructions after W2's read: bench/w2_tasks.py); one thread kept for the
// whole command, and never ended by a process that is about to exit, costs that never.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace stackscope {

class HelperThread {
public:
    HelperThread() = default;
    // Waits for the job it runs, then for the thread to end.
    ~HelperThread();
    HelperThread(const HelperThread&) = delete;
    HelperThread& operator=(const HelperThread&) = delete;

    // Runs `job` on the thread (started at the first job), after the one handed before it;
    // returns at once. The job must not throw: what it finds goes back through what it holds.
    void run(std::function<void()> job);
    // Starts the thread now, and has it make its allocator's first region (with the CLI's
    // mimalloc, a 2 MiB huge page cleared: about 0.7 ms): a command that will hand it work
    // starts it early, so that this is done while the target is attached, not in the first job.
    void start();

private:
    void serve();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::function<void()> job_;
    bool ending_ = false;
    std::thread thread_;
};

}  // namespace stackscope
