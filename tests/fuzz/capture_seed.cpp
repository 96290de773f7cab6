// Writes a memory image (memory_image.hpp) of a live process: everything `--tasks` reads from
// it, the symbols it asks for, its threads. capture_seed PID OUT_FILE (scripts/make-fuzz-seeds.sh
// runs it on tests/fuzz/task_seed.py for the tasks corpus).
//
// The process is read as the image will be: without local files, so the symbols are asked of
// the target (answered here from the mapped ELF files and kept in the image), and with the
// interpreter's own mappings shown read-only, so that the search for _asyncio's .AsyncioDebug
// block (no files: a scan of writable data) reads _asyncio's data only, not megabytes of the
// interpreter's. The image is then read again and must list the same tasks.
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "cpython/runtime_discovery.hpp"
#include "memory_image.hpp"
#include "stackscope/error.hpp"
#include "stackscope/live_process.hpp"
#include "stackscope/snapshot.hpp"
#include "target/mapped_elf.hpp"

namespace {

using namespace stackscope;

constexpr uint64_t kPage = 4096;

class RecordingTarget final : public Target {
public:
    explicit RecordingTarget(LiveProcess& live) : live_(live), regions_(live.regions()) {
        for (MemoryRegion& r : regions_) {
            if (may_hold_runtime(r.path)) r.writable = false;
        }
    }

    size_t read(uint64_t address, std::span<uint8_t> out) override {
        const size_t got = live_.read(address, out);
        for (uint64_t page = address / kPage * kPage; got > 0 && page < address + got; page += kPage) keep(page);
        return got;
    }
    const std::vector<MemoryRegion>& regions() const override { return regions_; }
    std::vector<TargetThread> threads() const override { return live_.threads(); }
    int pid() const override { return live_.pid(); }
    std::optional<std::string> local_file(const std::string&) const override { return std::nullopt; }
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override {
        if (!files_) files_ = open_mapped_elfs(live_, [](const std::string& path) { return !path.empty(); });
        for (const MappedElf& m : files_->files) {
            if (const auto symbol = m.elf->symbol(name)) {
                symbols_[std::string(name)] = m.load_bias + symbol->value;
                return m.load_bias + symbol->value;
            }
        }
        return std::nullopt;
    }

    stackscope_fuzz::MemoryImage image() const {
        stackscope_fuzz::MemoryImage image;
        image.pid = live_.pid();
        for (const auto& [name, address] : symbols_) image.symbols[name] = address;
        for (const TargetThread& t : live_.threads()) {
            TargetThread kept;
            kept.tid = t.tid;
            kept.pthread_id = t.pthread_id.value_or(0);
            image.threads.push_back(kept);
        }
        // Runs of kept pages of one mapping become one block.
        for (auto it = pages_.begin(); it != pages_.end();) {
            const MemoryRegion* region = region_of(it->first);
            stackscope_fuzz::ImageBlock block;
            block.path = region ? region->path : "";
            block.writable = region && region->writable;
            const uint64_t start = it->first;
            uint64_t next = start;
            while (it != pages_.end() && it->first == next && region_of(it->first) == region) {
                block.bytes.insert(block.bytes.end(), it->second.begin(), it->second.end());
                next += kPage;
                const bool whole = it->second.size() == kPage;
                ++it;
                if (!whole) break;
            }
            image.blocks.emplace(start, std::move(block));
        }
        return image;
    }

private:
    void keep(uint64_t page) {
        if (pages_.count(page)) return;
        std::vector<uint8_t> bytes(kPage);
        bytes.resize(live_.read(page, bytes));
        if (!bytes.empty()) pages_.emplace(page, std::move(bytes));
    }
    const MemoryRegion* region_of(uint64_t address) const {
        for (const MemoryRegion& r : regions_) {
            if (r.contains(address)) return &r;
        }
        return nullptr;
    }

    LiveProcess& live_;
    std::vector<MemoryRegion> regions_;
    std::map<uint64_t, std::vector<uint8_t>> pages_;
    mutable std::optional<MappedElfs> files_;
    mutable std::map<std::string, uint64_t> symbols_;
};

std::set<uint64_t> task_ids(const Snapshot& snapshot) {
    std::set<uint64_t> out;
    for (const Task& t : snapshot.tasks) out.insert(t.id);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PID OUT_FILE\n", argv[0]);
        return 2;
    }
    try {
        SnapshotOptions options;
        options.tasks = true;
        stackscope_fuzz::MemoryImage image;
        Snapshot recorded;
        {
            LiveProcess live(std::atoi(argv[1]), {});
            RecordingTarget recording(live);
            recorded = take_snapshot(recording, nullptr, options);
            image = recording.image();
        }
        const auto bytes = image.serialize();
        auto reparsed = stackscope_fuzz::MemoryImage::parse(bytes);
        stackscope_fuzz::ImageTarget replay(std::move(*reparsed));
        const Snapshot replayed = take_snapshot(replay, nullptr, options);
        if (recorded.tasks.empty() || task_ids(replayed) != task_ids(recorded) ||
            bool(replayed.tasks_error) != bool(recorded.tasks_error)) {
            std::fprintf(stderr, "%s: the image does not read as the process did (%zu tasks, %zu from the image%s)\n",
                         argv[0], recorded.tasks.size(), replayed.tasks.size(),
                         recorded.tasks_error ? (", " + recorded.tasks_error->message).c_str() : "");
            return 1;
        }
        std::ofstream(argv[2], std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        std::printf("%s: %zu tasks, %zu blocks, %zu bytes\n", argv[2], recorded.tasks.size(), image.blocks.size(),
                    bytes.size());
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
}
