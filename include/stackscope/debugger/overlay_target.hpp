#pragma once
// A target read through another one (a live process, a core file, or a debugger's
// callbacks), with what a debugger knows better: its own list of threads, and its symbols.
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope {

using SymbolLookup = std::function<std::optional<uint64_t>(std::string_view name)>;

class OverlayTarget final : public Target {
public:
    // `threads` replace the inner target's; `symbols` (may be empty) is asked when the inner
    // target knows no address for a name. Everything else is the inner target's.
    OverlayTarget(std::unique_ptr<Target> inner, std::vector<TargetThread> threads, SymbolLookup symbols);

    size_t read(uint64_t address, std::span<uint8_t> out) override { return inner_->read(address, out); }
    bool costly_reads() const override { return inner_->costly_reads(); }
    const std::vector<MemoryRegion>& regions() const override { return inner_->regions(); }
    std::vector<TargetThread> threads() const override { return threads_; }
    int pid() const override { return inner_->pid(); }
    std::optional<std::string> local_file(const std::string& mapped_path) const override {
        return inner_->local_file(mapped_path);
    }
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override;
    int host_tid(int tid_in_target) const override { return inner_->host_tid(tid_in_target); }
    std::optional<ProcessInfo> process_info() const override { return inner_->process_info(); }
    std::string source_root() const override { return inner_->source_root(); }

    // Replaces the symbol lookup asked after the inner target's.
    void set_symbols(SymbolLookup symbols) { symbols_ = std::move(symbols); }

private:
    std::unique_ptr<Target> inner_;
    std::vector<TargetThread> threads_;
    SymbolLookup symbols_;
};

}  // namespace stackscope
