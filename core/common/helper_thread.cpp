#include "stackscope/helper_thread.hpp"

#include <utility>
#include <vector>

namespace stackscope {

HelperThread::~HelperThread() {
    {
        std::lock_guard lock(mutex_);
        ending_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void HelperThread::run(std::function<void()> job) {
    {
        std::unique_lock lock(mutex_);
        // A job handed while the one before has not been taken yet waits its turn.
        wake_.wait(lock, [&] { return !job_; });
        job_ = std::move(job);
        if (!thread_.joinable()) thread_ = std::thread([this] { serve(); });
    }
    wake_.notify_all();
}

void HelperThread::start() {
    run([] {
        std::vector<char> first(64);
        asm volatile("" : : "r"(first.data()) : "memory");  // kept: an allocation is what it is for
    });
}

void HelperThread::serve() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return job_ || ending_; });
            if (!job_) return;
            job = std::move(job_);
            job_ = nullptr;
        }
        wake_.notify_all();  // a run() waiting for its turn
        job();
    }
}

}  // namespace stackscope
