#pragma once
// Long lists (ten thousand asyncio tasks, their text) done on two threads: the list in runs,
// each thread taking the next run from a shared counter when done with one. Halves left one
// thread waiting for the other when it started late (its CPU busy, or the VM's second vCPU not
// yet running).
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "stackscope/helper_thread.hpp"

namespace stackscope {

// Calls here(run) on this thread and there(run) on one more (`helper`'s, else a new one),
// until every run in [0, run_count) is done once; returns once they all are, with the new
// thread, which may still be exiting (a thread's exit frees what its allocator kept for it:
// its owner joins it, or lets it go, when that no longer matters), or an empty one on
// `helper`. Throws what either threw; after a throw, neither takes a new run.
inline std::jthread in_runs_on_two_threads(size_t run_count, const std::function<void(size_t run)>& here,
                                           const std::function<void(size_t run)>& there,
                                           HelperThread* helper = nullptr) {
    std::atomic<size_t> next_run = 0;
    const auto take_runs = [&](const std::function<void(size_t)>& work) {
        try {
            for (size_t run; (run = next_run.fetch_add(1)) < run_count;) work(run);
        } catch (...) {
            next_run.store(run_count);
            throw;
        }
    };
    // The other thread shares the promise: it may still be inside set_value() when this one
    // wakes, and (on the helper) its job is destroyed after this returns.
    auto promise = std::make_shared<std::promise<void>>();
    std::future<void> other_done = promise->get_future();
    auto other_runs = [&, promise]() {
        try {
            take_runs(there);
            promise->set_value();
        } catch (...) {
            promise->set_exception(std::current_exception());
        }
    };
    std::jthread other;
    if (helper) helper->run(other_runs);
    else other = std::jthread(other_runs);
    try {
        take_runs(here);
    } catch (...) {
        other_done.wait();  // the other thread uses what this frame holds
        throw;
    }
    other_done.get();
    return other;
}

}  // namespace stackscope
