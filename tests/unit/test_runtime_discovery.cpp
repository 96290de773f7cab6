// Finding the runtime on a target that runs on (--no-block): the seed image of a 3.13 runtime
// (tests/support/seed_images.cpp) read through a target whose first thread state stops pointing
// back at its interpreter for the first reads, as a thread that exits between two reads leaves
// it. The integration tests churn real threads (tests/integration/test_no_block.py).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <utility>

#include "cpython/runtime_discovery.hpp"
#include "memory_image.hpp"
#include "seed_images.hpp"
#include "stackscope/error.hpp"
#include "target/remote_memory.hpp"

using namespace stackscope;

namespace {

stackscope_fuzz::MemoryImage runtime_313() {
    return stackscope_fuzz::seed_image_313(std::string(STACKSCOPE_FIXTURES) + "/debug_offsets_3.13-dbg.bin");
}

// The image, but the 8 bytes at `address` read as garbage for the first `garbled_reads` reads
// that cover them.
class ThreadExitingTarget final : public Target {
public:
    ThreadExitingTarget(stackscope_fuzz::MemoryImage image, uint64_t address, int garbled_reads)
        : inner_(std::move(image)), address_(address), garbled_reads_(garbled_reads) {}

    size_t read(uint64_t address, std::span<uint8_t> out) override {
        const size_t got = inner_.read(address, out);
        if (garbled_reads_ > 0 && address <= address_ && address_ + 8 <= address + got) {
            --garbled_reads_;
            std::memset(out.data() + (address_ - address), 0xdb, 8);
        }
        return got;
    }
    const std::vector<MemoryRegion>& regions() const override { return inner_.regions(); }
    std::vector<TargetThread> threads() const override { return inner_.threads(); }
    int pid() const override { return inner_.pid(); }
    std::optional<std::string> local_file(const std::string& path) const override { return inner_.local_file(path); }
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override { return inner_.lookup_symbol(name); }
    int garbled_reads_left() const { return garbled_reads_; }

private:
    stackscope_fuzz::ImageTarget inner_;
    uint64_t address_;
    int garbled_reads_;
};

// Where the image's first thread state says which interpreter it belongs to.
uint64_t first_thread_interp_field() {
    stackscope_fuzz::ImageTarget target(runtime_313());
    RemoteMemory memory(target);
    const PythonRuntime runtime = discover_runtime(memory);
    const PythonLayout& l = runtime.layout;
    const uint64_t interp = memory.read_pointer(runtime.address + l.runtime_interpreters_head);
    const uint64_t tstate = memory.read_pointer(interp + l.interp_threads_head);
    REQUIRE(tstate != 0);
    return tstate + l.tstate_interp;
}

}  // namespace

TEST_CASE("a runtime whose first thread exits while it is validated is read again", "[runtime_discovery]") {
    const uint64_t field = first_thread_interp_field();
    for (const int garbled : {1, 3}) {
        ThreadExitingTarget target(runtime_313(), field, garbled);
        RemoteMemory memory(target);
        const PythonRuntime runtime = discover_runtime(memory);
        CHECK(runtime.layout.version.minor == 13);
        CHECK(target.garbled_reads_left() == 0);
    }
}

TEST_CASE("a runtime that never validates is still refused, after a bounded number of reads", "[runtime_discovery]") {
    ThreadExitingTarget target(runtime_313(), first_thread_interp_field(), 1000);
    RemoteMemory memory(target);
    try {
        discover_runtime(memory);
        FAIL("the runtime was accepted");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
        CHECK(std::string(e.what()).find("does not look initialised") != std::string::npos);
    }
    CHECK(target.garbled_reads_left() > 990);
}
