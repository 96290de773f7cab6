#include "extract/native_threads.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "cpython/thread_activity.hpp"
#include "target/syscall_names.hpp"

namespace stackscope {

namespace {

// The file the runtime (_PyRuntime) lies in, as the target names it: the executable or libpython.
// A runtime in .bss may lie in the anonymous mapping that continues the file's last one.
std::string interpreter_file(Extraction& x) {
    const std::vector<MemoryRegion>& regions = x.memory().target().regions();
    const auto containing = [&](uint64_t address) -> const MemoryRegion* {
        for (const MemoryRegion& region : regions) {
            if (region.contains(address)) return &region;
        }
        return nullptr;
    };
    const MemoryRegion* region = containing(x.runtime().address);
    // Each step goes down to the mapping just before: bounded by the number of mappings.
    for (size_t steps = 0; region && region->path.empty() && region->start > 0 && steps < regions.size(); ++steps)
        region = containing(region->start - 1);
    return region ? region->path : std::string();
}

void set_native(Thread& thread, NativeStack stack) {
    thread.native = std::move(stack.frames);
    thread.native_error = std::move(stack.error);
}

}  // namespace

NativeUnwinder& NativeThreads::unwinder() {
    if (!unwinder_)
        unwinder_ = std::make_unique<NativeUnwinder>(x_.memory(), interpreter_file(x_), interpreter_in_full_);
    return *unwinder_;
}

std::optional<std::string> NativeThreads::resumed_in(const TargetThread& kernel) {
    if (kernel.syscall != kSyscallRestart || !kernel.registers) return std::nullopt;
    return unwinder().blocking_function(kernel);
}

void NativeThreads::add_native_stacks(std::vector<Thread>& threads, const std::vector<TargetThread>& kernel_threads) {
    std::unordered_map<int, const TargetThread*> by_tid;
    for (const TargetThread& k : kernel_threads) by_tid.emplace(k.tid, &k);
    std::unordered_set<int> python_tids;
    for (Thread& t : threads) {
        if (!t.tid) continue;
        python_tids.insert(*t.tid);
        const auto kernel = by_tid.find(*t.tid);
        if (kernel == by_tid.end()) {
            t.native.emplace();
            t.native_error = "the process has no thread " + std::to_string(*t.tid);
            continue;
        }
        set_native(t, unwinder().unwind(*kernel->second));
    }
    std::vector<const TargetThread*> others;
    for (const TargetThread& k : kernel_threads) {
        if (!python_tids.count(k.tid)) others.push_back(&k);
    }
    std::sort(others.begin(), others.end(),
              [](const TargetThread* a, const TargetThread* b) { return a->tid < b->tid; });
    for (const TargetThread* k : others) {
        Thread t;
        t.tid = k->tid;
        t.pthread_id = k->pthread_id;
        t.interpreter_id = std::nullopt;
        set_kernel_activity(t, *k, GilState{}, x_.layout(), resumed_in(*k));
        set_native(t, unwinder().unwind(*k));
        threads.push_back(std::move(t));
    }
}

}  // namespace stackscope
