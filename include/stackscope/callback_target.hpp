#pragma once
// A target whose every operation is a callback: a debugger's memory and threads (remote
// targets, or a debugger that knows the threads better than /proc), or another target with
// some operations replaced. Only `read` is required; without `regions`, runtime discovery
// needs `lookup_symbol` (or finds nothing to scan).
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope {

struct TargetCallbacks {
    // Copies up to out.size() bytes from the address; returns how many were readable from the
    // start. It may fail a whole read that touches unreadable memory (return 0), as debuggers
    // do: the target then finds the readable prefix page by page.
    std::function<size_t(uint64_t address, std::span<uint8_t> out)> read;
    std::function<std::vector<MemoryRegion>()> regions;
    std::function<std::vector<TargetThread>()> threads;
    std::function<std::optional<uint64_t>(std::string_view name)> lookup_symbol;
    std::function<std::optional<std::string>(const std::string& mapped_path)> local_file;
    // What the debugger knows of the process beyond its memory (a core's notes: who it was,
    // the fatal signal and the thread it came to); asked once per snapshot, may be empty.
    std::function<std::optional<ProcessInfo>()> process_info;
    int pid = 0;
    std::string source_root;
};

class CallbackTarget final : public Target {
public:
    // Throws Error(Usage) when `read` is missing. Regions are asked for once.
    explicit CallbackTarget(TargetCallbacks callbacks);

    size_t read(uint64_t address, std::span<uint8_t> out) override;
    bool costly_reads() const override { return true; }
    const std::vector<MemoryRegion>& regions() const override { return regions_; }
    std::vector<TargetThread> threads() const override;
    int pid() const override { return callbacks_.pid; }
    std::optional<std::string> local_file(const std::string& mapped_path) const override;
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override;
    std::string source_root() const override { return callbacks_.source_root; }
    std::optional<ProcessInfo> process_info() const override;

private:
    TargetCallbacks callbacks_;
    std::vector<MemoryRegion> regions_;
};

}  // namespace stackscope
