// A runtime's build flavour from its own bytes (core/cpython/build_flavour.hpp): the seed images
// of tests/support/seed_images.cpp laid out with the _Py_DebugOffsets Debian's python3.13-dbg
// published (fixtures/debug_offsets_3.13-dbg.bin, dumped from the running debug build), with the
// sys module dict of a Py_DEBUG build (gettotalrefcount), of a release build (neither function)
// or of a Py_TRACE_REFS build (getobjects as well). The integration tests read the real debug
// builds (tests/integration/test_build_flavour.py, corefiles/3.14-dbg).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cpython/build_flavour.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/python_layout.hpp"
#include "cpython/thread_stack.hpp"
#include "cpython/type_anchors.hpp"
#include "exit_codes.hpp"
#include "memory_image.hpp"
#include "seed_images.hpp"
#include "stackscope/error.hpp"
#include "stackscope/snapshot.hpp"
#include "target/remote_memory.hpp"

using namespace stackscope;

namespace {

const std::vector<std::string> kReleaseSys{"getrefcount", "getsizeof", "_current_frames"};
const std::vector<std::string> kDebugSys{"getrefcount", "getsizeof", "_current_frames", "gettotalrefcount"};
const std::vector<std::string> kTraceRefsSys{"getrefcount", "getsizeof", "_current_frames", "gettotalrefcount",
                                             "getobjects"};

stackscope_fuzz::MemoryImage debug_build_runtime(const std::vector<std::string>& sys_functions) {
    return stackscope_fuzz::seed_image_313(std::string(STACKSCOPE_FIXTURES) + "/debug_offsets_3.13-dbg.bin",
                                           sys_functions);
}

// read_build_flavour over the image, as the extraction calls it: once the runtime is found and
// the builtin types learnt (the sys dict is only read as a dict of a known dict type).
BuildFlavour flavour_of(stackscope_fuzz::MemoryImage image) {
    stackscope_fuzz::ImageTarget target(std::move(image));
    RemoteMemory memory(target);
    const PythonRuntime runtime = discover_runtime(memory);
    BuiltinTypes types;
    ObjectReader objects(memory, runtime.layout, types);
    FrameReader frames(objects);
    ThreadStackWalker walker(objects, frames);
    learn_builtin_types(objects, types, walker, runtime);
    return read_build_flavour(objects, runtime);
}

Snapshot snapshot_of(stackscope_fuzz::MemoryImage image) {
    stackscope_fuzz::ImageTarget target(std::move(image));
    return take_snapshot(target, nullptr, {});
}

// The error a snapshot of the image stops with; fails when it reads.
Error refusal_of(stackscope_fuzz::MemoryImage image) {
    try {
        snapshot_of(std::move(image));
    } catch (const Error& e) {
        return e;
    }
    FAIL("the image was read");
    return Error(ErrorKind::Internal, "");
}

}  // namespace

TEST_CASE("a debug build is recognised from its sys module, a release build is not", "[build_flavour]") {
    CHECK(flavour_of(debug_build_runtime(kDebugSys)) == BuildFlavour::Debug);
    CHECK(flavour_of(debug_build_runtime(kReleaseSys)) == BuildFlavour::Release);
    CHECK(flavour_of(debug_build_runtime(kTraceRefsSys)) == BuildFlavour::TraceRefs);
    // No sys module (a runtime still starting up): nothing says it is not a release build.
    CHECK(flavour_of(debug_build_runtime({})) == BuildFlavour::Release);
}

TEST_CASE("a measured debug build reads in full and says so", "[build_flavour]") {
    const Snapshot debug = snapshot_of(debug_build_runtime(kDebugSys));
    CHECK(debug.debug_build);
    REQUIRE(debug.threads.size() == 2);
    for (const auto& thread : debug.threads) {
        CHECK_FALSE(thread.stack.error);
        CHECK_FALSE(thread.stack.frames.empty());
    }
    const Snapshot release = snapshot_of(debug_build_runtime(kReleaseSys));
    CHECK_FALSE(release.debug_build);
    CHECK(release.threads.size() == 2);
}

TEST_CASE("a Py_TRACE_REFS build is refused: every object header is two pointers longer", "[build_flavour]") {
    const Error e = refusal_of(debug_build_runtime(kTraceRefsSys));
    CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
    CHECK(cli::exit_code_of(e.kind()) == 3);
    CHECK_THAT(std::string(e.what()), Catch::Matches("Python 3\\.13\\.\\d+ Py_TRACE_REFS build is not supported .*"));
}

TEST_CASE("a debug build of a version whose tables were not measured on one is refused", "[build_flavour]") {
    const Error e = refusal_of(stackscope_fuzz::seed_image_312(kDebugSys));
    CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
    CHECK(cli::exit_code_of(e.kind()) == cli::kExitNotPython);
    CHECK_THAT(std::string(e.what()), Catch::StartsWith("Python 3.12.1 debug build (Py_DEBUG) is not supported"));
    // The same runtime as a release build reads.
    CHECK_FALSE(snapshot_of(stackscope_fuzz::seed_image_312(kReleaseSys)).debug_build);
}

TEST_CASE("only the versions measured on their debug builds accept one", "[build_flavour]") {
    for (int minor = 8; minor <= 15; ++minor) {
        CAPTURE(minor);
        const auto layout = layout_for(3, minor);
        REQUIRE(layout);
        CHECK_NOTHROW(require_known_flavour(BuildFlavour::Release, *layout));
        CHECK_THROWS_AS(require_known_flavour(BuildFlavour::TraceRefs, *layout), Error);
        if (minor >= 13) {
            CHECK_NOTHROW(require_known_flavour(BuildFlavour::Debug, *layout));
        } else {
            CHECK_THROWS_WITH(require_known_flavour(BuildFlavour::Debug, *layout),
                              Catch::Contains("debug build (Py_DEBUG) is not supported"));
        }
    }
}
