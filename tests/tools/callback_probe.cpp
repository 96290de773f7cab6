// callback_probe: reads a live process (stopped, as the CLI does) or a core through a
// CallbackTarget whose callbacks forward to the real target, as a debugger front-end would
// supply them, optionally withholding some callbacks and injecting read failures. Prints the
// JSON snapshot (as `stackscope --format json`) and writes call counts to --stats.
// Exit codes are the CLI's. A test tool: built with the tests, never installed.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "exit_codes.hpp"  // the CLI's exit codes, so that tests compare the two
#include "stackscope/callback_target.hpp"
#include "stackscope/core_file.hpp"
#include "stackscope/error.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/live_process.hpp"
#include "target/mapped_elf.hpp"
#include "stackscope/snapshot.hpp"
#include "stackscope/source_files.hpp"

namespace {

using namespace stackscope;

struct Injection {
    uint64_t fail_every = 0;   // every Nth read returns nothing
    uint64_t short_every = 0;  // every Nth read returns `short_by` bytes less
    uint64_t short_by = 0;
    uint64_t fail_after = 0;                // every read after the first N returns nothing
    uint64_t fail_start = 0, fail_end = 0;  // reads touching [start, end) return nothing
};

struct Counters {
    uint64_t reads = 0;
    std::set<uint64_t> pages;  // every 4 KiB page a read asked for
};

// What a debugger's symbol lookup answers: symbols of the ELF files the target maps.
class ElfSymbols {
public:
    explicit ElfSymbols(const Target& target)
        : elfs_(open_mapped_elfs(target, [](const std::string&) { return true; })) {}
    std::optional<uint64_t> find(std::string_view name) const {
        for (const MappedElf& m : elfs_.files) {
            if (auto sym = m.elf->symbol(name)) return m.load_bias + sym->value;
        }
        return std::nullopt;
    }

private:
    MappedElfs elfs_;
};

TargetCallbacks forwarding_callbacks(Target& inner, const std::string& without, const Injection& inject,
                                     Counters& counters, const ElfSymbols& symbols) {
    TargetCallbacks cb;
    cb.read = [&inner, &inject, &counters](uint64_t address, std::span<uint8_t> out) -> size_t {
        const uint64_t n = ++counters.reads;
        if (!out.empty()) {
            for (uint64_t p = address & ~uint64_t{4095}; p < address + out.size(); p += 4096) counters.pages.insert(p);
        }
        if (inject.fail_every && n % inject.fail_every == 0) return 0;
        if (inject.fail_after && n > inject.fail_after) return 0;
        if (inject.fail_end > inject.fail_start && address < inject.fail_end &&
            inject.fail_start < address + out.size()) {
            return 0;
        }
        size_t got = inner.read(address, out);
        if (inject.short_every && n % inject.short_every == 0) got = got > inject.short_by ? got - inject.short_by : 0;
        return got;
    };
    if (without != "regions") cb.regions = [&inner] { return inner.regions(); };
    cb.threads = [&inner] { return inner.threads(); };
    if (without != "symbols") {
        cb.lookup_symbol = [&symbols](std::string_view name) { return symbols.find(name); };
        cb.local_file = [&inner](const std::string& path) { return inner.local_file(path); };
    } else {
        // read + regions only: no file can be opened, as for a remote target.
        cb.local_file = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    }
    cb.pid = inner.pid();
    cb.source_root = inner.source_root();
    return cb;
}

uint64_t parse_address(const std::string& text) { return std::stoull(text, nullptr, 0); }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"callback_probe: take a snapshot through forwarding callbacks (a test tool)"};
    app.require_subcommand(1);
    app.fallthrough();
    std::string without = "none", stats_path, fail_range;
    Injection inject;
    app.add_option("--without", without,
                   "Withhold callbacks: none, regions (read + symbols) or symbols (read + regions)")
        ->check(CLI::IsMember({"none", "regions", "symbols"}));
    app.add_option("--fail-every", inject.fail_every, "Fail every Nth read");
    app.add_option("--short-every", inject.short_every, "Shorten every Nth read by --short-by bytes");
    app.add_option("--short-by", inject.short_by, "Bytes withheld from shortened reads");
    app.add_option("--fail-after", inject.fail_after, "Fail every read after the first N");
    app.add_option("--fail-range", fail_range, "Fail reads touching START-END (hex with 0x)");
    app.add_option("--stats", stats_path, "Write call counts and frame addresses (JSON) here");
    int pid = 0;
    CLI::App* pid_cmd = app.add_subcommand("pid", "A live process, stopped while it is read");
    pid_cmd->add_option("PID", pid)->required();
    std::string core_path;
    CoreFileOptions core_options;
    CLI::App* core_cmd = app.add_subcommand("core", "A core file");
    core_cmd->add_option("CORE", core_path)->required();
    core_cmd->add_option("--executable", core_options.executable);
    CLI11_PARSE(app, argc, argv);
    if (!fail_range.empty()) {
        const size_t dash = fail_range.find('-');
        inject.fail_start = parse_address(fail_range.substr(0, dash));
        inject.fail_end = parse_address(fail_range.substr(dash + 1));
    }

    try {
        std::unique_ptr<Target> inner;
        LiveProcess* live = nullptr;
        if (pid_cmd->parsed()) {
            auto process = std::make_unique<LiveProcess>(pid, LiveProcess::Options{});
            live = process.get();
            inner = std::move(process);
        } else {
            inner = std::make_unique<CoreFile>(core_path, core_options);
        }
        Counters counters;
        const ElfSymbols symbols(*inner);
        CallbackTarget target(forwarding_callbacks(*inner, without, inject, counters, symbols));
        ExtractionStats stats;
        Snapshot snap = take_snapshot(target, &stats);
        if (live) live->detach();
        SourceFiles sources(target.source_root());
        add_source_lines(snap, sources);
        std::cout << format_snapshot_json(snap);
        if (!stats_path.empty()) {
            nlohmann::json threads = nlohmann::json::array();
            for (const Thread& t : snap.threads) {
                nlohmann::json frames = nlohmann::json::array();
                for (const Frame& f : t.stack.frames) frames.push_back(f.address);
                threads.push_back({{"tid", t.tid ? nlohmann::json(*t.tid) : nlohmann::json()}, {"frames", frames}});
            }
            std::ofstream(stats_path) << nlohmann::json{{"callback_reads", counters.reads},
                                                        {"target_reads", stats.target_reads},
                                                        {"requested_reads", stats.requested_reads},
                                                        {"pages_touched", counters.pages.size()},
                                                        {"threads", threads}}
                                             .dump()
                                      << "\n";
        }
        return snap.partial() ? 1 : 0;
    } catch (const Error& e) {
        std::cerr << "callback_probe: " << e.what() << "\n";
        return stackscope::cli::exit_code_of(e.kind());
    }
}
