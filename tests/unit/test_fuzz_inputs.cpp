// Replays the fuzz targets' inputs (tests/support/fuzz_inputs.hpp) through the same entry points
// libFuzzer calls: the committed seed corpora, and every input a fuzzer found to crash, hang
// or trip a sanitizer (fixtures/fuzz-regressions/<target>/). Each must give a value or a
// stackscope::Error; under the ASan build a regression of the fix is a sanitizer report.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "stackscope/formatters.hpp"
#include "fuzz_inputs.hpp"
#include "memory_image.hpp"
#include "seed_images.hpp"
#include "stackscope/snapshot.hpp"

namespace fs = std::filesystem;
using stackscope_fuzz::Outcome;

namespace {

// tests/fuzz/CMakeLists.txt's list, the one scripts/fuzz.sh runs.
const std::vector<std::string> kTargets = [] {
    std::vector<std::string> out;
    std::istringstream in(STACKSCOPE_FUZZ_TARGETS);
    for (std::string name; in >> name;) out.push_back(name);
    return out;
}();

std::vector<uint8_t> contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    if (!fs::is_directory(dir)) return out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file()) out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Every file through the target's entry point; returns how many gave a value.
size_t replay(const std::string& target, const fs::path& dir) {
    const auto entry = stackscope_fuzz::entry_named(target);
    REQUIRE(entry);
    size_t values = 0;
    for (const fs::path& file : files_in(dir)) {
        INFO(file.string());
        const auto bytes = contents(file);
        Outcome outcome = Outcome::TooShort;
        REQUIRE_NOTHROW(outcome = entry(bytes));
        values += outcome == Outcome::Value;
    }
    return values;
}

stackscope::Snapshot snapshot_of(const fs::path& image_file) {
    const auto bytes = contents(image_file);
    auto image = stackscope_fuzz::MemoryImage::parse(bytes);
    REQUIRE(image);
    stackscope_fuzz::ImageTarget target(std::move(*image));
    return stackscope::take_snapshot(target);
}

}  // namespace

TEST_CASE("Fuzz seed corpora are read by their targets", "[fuzz]") {
    const fs::path corpus = STACKSCOPE_FUZZ_CORPUS;
    for (const std::string& target : kTargets) {
        INFO(target);
        const auto seeds = files_in(corpus / target);
        CHECK(seeds.size() >= 2);
        // Seeds are inputs the core reads, not ones it rejects: they lead the fuzzer deep.
        CHECK(replay(target, corpus / target) == seeds.size() - (target == "elf_core" ? 1 : 0));  // one truncated core
    }
}

// fuzz-regressions/<target>/<name>, one line each:
//   frame_walker/cell-index-overflow-310  a 3.10 method whose co_cellvars holds "self" at index 1
//       and whose co_nlocals is INT32_MAX: the cell index overflowed int (UBSan).
//   frame_walker/shared-lists-312  see "Merging thread lists ..." below.
//   object_repr/int-without-digits  an int with no digits (0) copied its empty digit array
//       from a null pointer (UBSan).
//   elf_core/empty-note-read-null  a mapped file's PT_NOTE of size 0: the core's read_at copied
//       nothing to an empty vector's null data() (UBSan).
TEST_CASE("Every input a fuzzer found gives a value or an Error", "[fuzz]") {
    const fs::path regressions = fs::path(STACKSCOPE_FIXTURES) / "fuzz-regressions";
    size_t replayed = 0;
    for (const std::string& target : kTargets) {
        INFO(target);
        (void)replay(target, regressions / target);
        replayed += files_in(regressions / target).size();
    }
    // The inputs listed above: a moved directory must not replay nothing and pass.
    CHECK(replayed >= 4);
    for (const fs::path& dir : files_in(regressions)) FAIL("a regression file outside a target's directory: " << dir);
    for (const auto& entry : fs::directory_iterator(regressions)) {
        if (entry.is_directory() &&
            std::find(kTargets.begin(), kTargets.end(), entry.path().filename().string()) == kTargets.end())
            FAIL("a regression directory of no fuzz target: " << entry.path());
    }
}

TEST_CASE("The frame-walker seed images are complete runtimes", "[fuzz]") {
    const fs::path dir = fs::path(STACKSCOPE_FUZZ_CORPUS) / "frame_walker";
    for (const char* name : {"python310.img", "python312.img", "python313.img"}) {
        INFO(name);
        const auto snap = snapshot_of(dir / name);
        CHECK_FALSE(snap.partial());
        REQUIRE(snap.threads.size() == 2);
        CHECK(snap.threads[0].name == "MainThread");
        CHECK(snap.threads[1].name == "worker-1");
        CHECK(snap.threads[1].holds_gil);
        CHECK(snap.threads[0].tid.has_value());
        CHECK(snap.threads[0].stack.frames.size() >= 2);
        CHECK(snap.threads[0].stack.frames.back().line.has_value());
    }
    const auto py310 = snapshot_of(dir / "python310.img");
    CHECK(py310.python_version == "3.10.13");
    CHECK(py310.threads[0].tid == 2001);
    CHECK(py310.threads[0].stack.frames.back().function == "Service.handle");
    CHECK(py310.threads[0].stack.frames.back().line == 23);
    CHECK(snapshot_of(dir / "python313.img").python_version.rfind("3.13", 0) == 0);
}

// tests/fuzz/task_seed.py as capture_seed took it: 14 tasks on the main thread's loop, whose
// running task is the main coroutine. A layout change that the images no longer fit shows here
// (regenerate them with scripts/make-fuzz-seeds.sh) before it blinds the tasks fuzzer.
TEST_CASE("The tasks seed images are processes running asyncio tasks", "[fuzz]") {
    const fs::path dir = fs::path(STACKSCOPE_FUZZ_CORPUS) / "tasks";
    for (const auto& [name, version] : {std::pair{"python311-tasks.img", "3.11."}, {"python314-tasks.img", "3.14."}}) {
        INFO(name);
        const auto bytes = contents(dir / name);
        auto image = stackscope_fuzz::MemoryImage::parse(bytes);
        REQUIRE(image);
        stackscope_fuzz::ImageTarget target(std::move(*image));
        stackscope::SnapshotOptions options;
        options.tasks = true;
        const auto snap = stackscope::take_snapshot(target, nullptr, options);
        CHECK(snap.python_version.rfind(version, 0) == 0);
        REQUIRE(snap.threads.size() == 1);
        REQUIRE(snap.tasks.size() == 14);
        std::map<std::string, const stackscope::Task*> by_name;
        for (const auto& t : snap.tasks) by_name[t.name] = &t;
        for (const char* wanted : {"awaited", "awaiting", "shielded", "nested-child", "python-task"})
            CHECK(by_name.count(wanted));
        REQUIRE(by_name.count("awaited"));
        REQUIRE(by_name["awaited"]->awaited_by.size() == 1);
        CHECK(by_name["awaited"]->awaited_by[0].task == by_name["awaiting"]->id);
        CHECK(by_name["awaited"]->loop_thread == snap.threads[0].tid);
        REQUIRE(snap.threads[0].running_task);
        CHECK(by_name["Task-1"]->id == *snap.threads[0].running_task);
        CHECK(by_name["Task-1"]->running);
    }
}

TEST_CASE("The committed frame-walker seeds are what make_fuzz_seeds writes", "[fuzz]") {
    // A layout-table change that moves an offset makes the seeds stale: regenerate them with
    // scripts/make-fuzz-seeds.sh.
    const fs::path dir = fs::path(STACKSCOPE_FUZZ_CORPUS) / "frame_walker";
    CHECK(contents(dir / "python310.img") == stackscope_fuzz::seed_image_310().serialize());
    CHECK(contents(dir / "python312.img") == stackscope_fuzz::seed_image_312().serialize());
    CHECK(contents(dir / "python313.img") ==
          stackscope_fuzz::seed_image_313(std::string(STACKSCOPE_FIXTURES) + "/debug_offsets_3.13.bin").serialize());
}

TEST_CASE("The committed object_repr seeds are what make_fuzz_seeds writes", "[fuzz]") {
    const fs::path dir = fs::path(STACKSCOPE_FUZZ_CORPUS) / "object_repr";
    CHECK(contents(dir / "objects312.img") == stackscope_fuzz::object_repr_seed(12));
    CHECK(contents(dir / "objects313.img") == stackscope_fuzz::object_repr_seed(13));
}

// fuzz-regressions/frame_walker/shared-lists-312: one 16 KiB region of pointers to the next
// word, through which the interpreter list, every thread list and every frame chain run, so
// that each interpreter lists the same threads and each thread's chain merges into the
// others'. It took 36 s when every interpreter re-read every thread and every thread re-walked
// every frame. Now a thread state is read once per snapshot, a frame is on one thread's stack
// only, and a thread state must point back at the interpreter that lists it: the lists end
// there, each with its error.
TEST_CASE("Merging thread lists and frame chains end with errors, read once per snapshot", "[fuzz]") {
    const auto snap = snapshot_of(fs::path(STACKSCOPE_FIXTURES) / "fuzz-regressions/frame_walker/shared-lists-312");
    size_t broken_lists = 0;
    for (const auto& t : snap.threads) {
        if (!t.stack.error) continue;
        broken_lists += t.stack.error->message.find("is not one of this interpreter's") != std::string::npos ||
                        t.stack.error->message.find("repeats another interpreter's") != std::string::npos ||
                        t.stack.error->message.find("on another thread's stack too") != std::string::npos;
    }
    CHECK(broken_lists >= 10);
    CHECK(snap.threads.size() < 16384 / 8);
}
