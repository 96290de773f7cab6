#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/two_thread_runs.hpp"
#include "stackscope/helper_thread.hpp"

using namespace stackscope;

namespace {

// Runs `count` runs on two threads; `here` holds its first run until `there` has done one, so
// that both take part. Returns the thread that did `there`'s runs.
std::thread::id runs_on_two_threads(size_t count, std::vector<std::atomic<int>>& done, HelperThread* helper) {
    std::atomic<int> theirs = 0;
    std::mutex mutex;
    std::thread::id there_id;
    std::jthread other = in_runs_on_two_threads(
        count,
        [&](size_t run) {
            for (int i = 0; i < 10000 && theirs.load() == 0; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            ++done[run];
        },
        [&](size_t run) {
            {
                std::lock_guard lock(mutex);
                there_id = std::this_thread::get_id();
            }
            ++done[run];
            ++theirs;
        },
        helper);
    CHECK(other.joinable() == (helper == nullptr));
    CHECK(theirs.load() > 0);
    return there_id;
}

}  // namespace

TEST_CASE("two-thread runs: every run done once, on a thread of their own or on the helper's") {
    constexpr size_t kRuns = 200;
    HelperThread helper;
    std::set<std::thread::id> helper_threads;
    for (HelperThread* on : {static_cast<HelperThread*>(nullptr), &helper, &helper, &helper}) {
        std::vector<std::atomic<int>> done(kRuns);
        const std::thread::id there = runs_on_two_threads(kRuns, done, on);
        CHECK(there != std::this_thread::get_id());
        if (on) helper_threads.insert(there);
        for (const auto& count : done) CHECK(count.load() == 1);
    }
    // One thread for every list: the helper's, kept.
    CHECK(helper_threads.size() == 1);
}

TEST_CASE("two-thread runs: what either side throws comes back, after the other side is done") {
    HelperThread helper;
    for (HelperThread* on : {static_cast<HelperThread*>(nullptr), &helper}) {
        for (const bool here_fails : {false, true}) {
            // The failing side fails its first run; the other side's runs wait for it to start.
            std::atomic<bool> started = false;
            std::atomic<int> running = 0;
            const std::function<void(size_t)> slow = [&](size_t) {
                ++running;
                for (int i = 0; i < 10000 && !started.load(); ++i)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                --running;
            };
            const std::function<void(size_t)> fails = [&](size_t) {
                started = true;
                throw std::runtime_error("failed");
            };
            CHECK_THROWS_WITH(in_runs_on_two_threads(50, here_fails ? fails : slow, here_fails ? slow : fails, on),
                              "failed");
            CHECK(running.load() == 0);  // the other side is done when the throw arrives
        }
    }
}

TEST_CASE("helper thread: jobs run in the order handed, the last one before it ends") {
    std::vector<int> order;
    std::mutex mutex;
    {
        HelperThread helper;
        for (int i = 0; i < 20; ++i) {
            helper.run([&, i] {
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                std::lock_guard lock(mutex);
                order.push_back(i);
            });
        }
    }
    std::vector<int> expected;
    for (int i = 0; i < 20; ++i) expected.push_back(i);
    CHECK(order == expected);
}
