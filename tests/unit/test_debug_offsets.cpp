// apply_debug_offsets over the real _Py_DebugOffsets of CPython 3.13.0, 3.14.10 and 3.15.2
// (fixtures/debug_offsets_3.X.bin, dumped by fixtures/make_debug_offsets.py), checked against
// offsets measured independently with offsetof probes (shared/reference/cpython-internals.md
// for 3.13; the same probes against Debian's 3.14/3.15 headers).
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "stackscope/error.hpp"
#include "cpython/python_layout.hpp"
#include "cpython/versions/debug_offsets.hpp"

using namespace stackscope;

namespace {

std::vector<uint8_t> fixture(int minor) {
    const std::string path = std::string(STACKSCOPE_FIXTURES) + "/debug_offsets_3." + std::to_string(minor) + ".bin";
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

PythonLayout applied(int minor, const std::vector<uint8_t>& raw) {
    auto layout = layout_for(3, minor);
    REQUIRE(layout);
    apply_debug_offsets(*layout, raw);
    return *layout;
}

struct Expected {
    int minor;
    Offset interpreters_head, interp_id, interp_next, threads_head, modules, sysdict;
    Offset thread_id, native_thread_id, localsplus, owner, code_adaptive, tuple_items;
};

}  // namespace

TEST_CASE("debug offsets of real runtimes match the measured offsets", "[debug_offsets]") {
    const Expected expected = GENERATE(Expected{13, 632, 7272, 7264, 7344, 7656, 7640, 152, 160, 72, 70, 200, 24},
                                       Expected{14, 808, 7280, 7272, 7344, 7688, 7672, 152, 160, 80, 74, 208, 32},
                                       Expected{15, 936, 7272, 7264, 7336, 7592, 7576, 176, 184, 80, 74, 208, 32});
    CAPTURE(expected.minor);
    const PythonLayout l = applied(expected.minor, fixture(expected.minor));
    CHECK(l.version.minor == expected.minor);
    CHECK(l.runtime_interpreters_head == expected.interpreters_head);
    CHECK(l.interp_id == expected.interp_id);
    CHECK(l.interp_next == expected.interp_next);
    CHECK(l.interp_threads_head == expected.threads_head);
    CHECK(l.interp_modules == expected.modules);
    CHECK(l.interp_sysdict == expected.sysdict);
    CHECK(l.interp_gil == 16);  // ceval.gil
    CHECK(l.gil_last_holder == 8);
    CHECK(l.gil_locked == 16);
    CHECK(l.tstate_next == 8);
    CHECK(l.tstate_interp == 16);
    CHECK(l.tstate_frame == 72);
    CHECK(l.tstate_thread_id == expected.thread_id);
    CHECK(l.tstate_native_thread_id == expected.native_thread_id);
    CHECK(l.frame_previous == 8);
    CHECK(l.frame_code == 0);
    CHECK(l.frame_instruction == 56);
    CHECK(l.frame_localsplus == expected.localsplus);
    CHECK(l.frame_owner == expected.owner);
    CHECK(l.code_filename == 112);
    CHECK(l.code_name == 120);
    CHECK(l.code_qualname == 128);
    CHECK(l.code_linetable == 136);
    CHECK(l.code_firstlineno == 68);
    CHECK(l.code_adaptive == expected.code_adaptive);
    CHECK(l.tuple_items == expected.tuple_items);
    CHECK(l.type_flags == 168);
    CHECK(l.unicode_ascii_data == 40);
}

TEST_CASE("3.15 publishes type and heap-type fields too", "[debug_offsets]") {
    const PythonLayout l = applied(15, fixture(15));
    CHECK(l.type_basicsize == 32);
    CHECK(l.type_dictoffset == 288);
    CHECK(l.heap_type_cached_keys == 888);
    CHECK(l.unicode_compact_data == 56);
}

TEST_CASE("unknown or free-threaded debug offsets are refused, not guessed", "[debug_offsets]") {
    const int minor = GENERATE(13, 14, 15);
    CAPTURE(minor);
    std::vector<uint8_t> raw = fixture(minor);
    auto layout = layout_for(3, minor);
    REQUIRE(layout);

    auto refusal = [&](std::vector<uint8_t> bytes) -> std::string {
        PythonLayout copy = *layout;
        try {
            apply_debug_offsets(copy, bytes);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
            return e.what();
        }
        FAIL("accepted");
        return "";
    };

    SECTION("free-threaded") {
        raw[16] = 1;  // free_threaded
        CHECK_THAT(refusal(raw), Catch::Matches("Python 3\\.1[345]t \\(0x30[def][0-9a-f]{4}\\) is not supported"));
    }
    SECTION("a minor version without a known layout") {
        raw[10] = 16;  // version: 3.16
        CHECK_THAT(refusal(raw), Catch::StartsWith("Python 3.16 (0x310") && Catch::EndsWith("is not supported"));
    }
    SECTION("no cookie") {
        raw[0] = 'X';
        CHECK_THAT(refusal(raw), Catch::Contains("cookie"));
    }
}

TEST_CASE("implausible or short debug offsets are bad data", "[debug_offsets]") {
    std::vector<uint8_t> raw = fixture(14);
    auto layout = layout_for(3, 14);
    REQUIRE(layout);
    SECTION("an offset beyond any struct") {
        const uint64_t huge = uint64_t{1} << 40;
        std::memcpy(raw.data() + 8 * 7, &huge, 8);  // interpreter_state.id
        CHECK_THROWS_WITH(apply_debug_offsets(*layout, raw), Catch::Contains("interpreter_state.id is implausible"));
    }
    SECTION("a GIL field below its base") {
        const uint64_t zero = 0;
        std::memcpy(raw.data() + 8 * 18, &zero, 8);  // gil_runtime_state_locked
        CHECK_THROWS_WITH(apply_debug_offsets(*layout, raw),
                          Catch::Contains("gil_runtime_state_locked is implausible"));
    }
    SECTION("shorter than the layout") {
        raw.resize(700);
        CHECK_THROWS_WITH(apply_debug_offsets(*layout, raw), Catch::Contains("shorter"));
    }
}

namespace {

// Slots of the 3.14 layout (Include/internal/pycore_debug_offsets.h of 3.14.10).
constexpr size_t kRuntimeSize = 3, kInterpSize = 6, kInterpId = 7, kInterpGc = 11, kGilRuntimeState = 16,
                 kGilLocked = 18, kThreadSize = 22, kCurrentFrame = 26, kCodeSize = 39, kFirstLineNo = 44;

uint64_t slot(const std::vector<uint8_t>& raw, size_t index) {
    uint64_t v = 0;
    std::memcpy(&v, raw.data() + 8 * index, 8);
    return v;
}

void set_slot(std::vector<uint8_t>& raw, size_t index, uint64_t value) {
    std::memcpy(raw.data() + 8 * index, &value, 8);
}

}  // namespace

TEST_CASE("real dumps start with the cookie and pass every section and field check", "[debug_offsets]") {
    const int minor = GENERATE(13, 14, 15);
    CAPTURE(minor);
    const std::vector<uint8_t> raw = fixture(minor);
    CHECK(starts_with_debug_offsets_cookie(raw));
    auto layout = layout_for(3, minor);
    REQUIRE(layout);
    CHECK_NOTHROW(apply_debug_offsets(*layout, raw));
}

TEST_CASE("each published field must fit, aligned, in its own section", "[debug_offsets]") {
    std::vector<uint8_t> raw = fixture(14);
    REQUIRE(slot(raw, kThreadSize) == 832);  // the slots above are the 3.14 ones
    REQUIRE(slot(raw, kCurrentFrame) == 72);
    REQUIRE(slot(raw, kFirstLineNo) == 68);
    auto layout = layout_for(3, 14);
    REQUIRE(layout);
    const PythonLayout before = *layout;

    auto refusal = [&]() -> std::string {
        try {
            apply_debug_offsets(*layout, raw);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::InconsistentData);  // bad_data
            return e.what();
        }
        FAIL("accepted");
        return "";
    };

    SECTION("an offset at the end of its section") {
        set_slot(raw, kInterpId, slot(raw, kInterpSize));  // aligned, and far below 1 MiB
        CHECK_THAT(refusal(), Catch::Contains("interpreter_state.id is implausible") &&
                                  Catch::Contains("do not fit in interpreter_state"));
    }
    SECTION("an int field just past its section") {
        set_slot(raw, kFirstLineNo, slot(raw, kCodeSize));
        CHECK_THAT(refusal(),
                   Catch::Contains("code_object.firstlineno is implausible") && Catch::Contains("4 bytes from there"));
    }
    SECTION("a misaligned pointer field") {
        set_slot(raw, kCurrentFrame, 73);
        CHECK_THAT(refusal(), Catch::Contains("thread_state.current_frame is implausible (0x49): not 8-byte aligned"));
    }
    SECTION("an embedded struct that does not fit in its container") {
        set_slot(raw, kInterpGc, slot(raw, kInterpSize) - 8);  // _gc_runtime_state is far larger
        CHECK_THAT(refusal(), Catch::Contains("interpreter_state.gc is implausible"));
    }
    SECTION("a GIL field past the _gil_runtime_state it is relative to") {
        set_slot(raw, kGilLocked, slot(raw, kGilRuntimeState) + 208);
        CHECK_THAT(refusal(),
                   Catch::Contains("gil_runtime_state_locked is implausible") && Catch::Contains("_gil_runtime_state"));
    }
    SECTION("a section size of zero") {
        set_slot(raw, kThreadSize, 0);
        CHECK_THAT(refusal(), Catch::Contains("section thread_state has an implausible size (0x0)"));
    }
    SECTION("a section size that is not a multiple of 8") {
        set_slot(raw, kThreadSize, 833);
        CHECK_THAT(refusal(), Catch::Contains("section thread_state has an implausible size"));
    }
    SECTION("a section size no struct comes close to") {
        set_slot(raw, kRuntimeSize, uint64_t{1} << 40);
        CHECK_THAT(refusal(), Catch::Contains("section runtime_state has an implausible size"));
    }
    // A refused dump leaves the table as it was.
    CHECK(layout->interp_id == before.interp_id);
    CHECK(layout->tstate_frame == before.tstate_frame);
    CHECK(layout->version.micro == before.version.micro);
}

// The debug builds (Py_DEBUG, Debian's python3.1X-dbg; fixtures/debug_offsets_3.X-dbg.bin) publish
// larger runtime and interpreter states but every offset the reader takes is the release
// build's: the same tables serve both (the integration tests read them live and from cores).
TEST_CASE("debug builds publish the release builds' offsets", "[debug_offsets]") {
    const int minor = GENERATE(13, 14, 15);
    CAPTURE(minor);
    const std::string path =
        std::string(STACKSCOPE_FIXTURES) + "/debug_offsets_3." + std::to_string(minor) + "-dbg.bin";
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    const std::vector<uint8_t> debug_raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const PythonLayout release = applied(minor, fixture(minor));
    const PythonLayout debug = applied(minor, debug_raw);
    CHECK(debug.version.minor == minor);
    for (const auto member : {&PythonLayout::runtime_interpreters_head,
                              &PythonLayout::runtime_finalizing,
                              &PythonLayout::interp_next,
                              &PythonLayout::interp_id,
                              &PythonLayout::interp_threads_head,
                              &PythonLayout::interp_modules,
                              &PythonLayout::interp_sysdict,
                              &PythonLayout::interp_gc,
                              &PythonLayout::tstate_frame,
                              &PythonLayout::tstate_thread_id,
                              &PythonLayout::tstate_native_thread_id,
                              &PythonLayout::frame_code,
                              &PythonLayout::frame_previous,
                              &PythonLayout::frame_instruction,
                              &PythonLayout::frame_localsplus,
                              &PythonLayout::frame_owner,
                              &PythonLayout::frame_stack_top,
                              &PythonLayout::gen_frame,
                              &PythonLayout::gen_frame_state,
                              &PythonLayout::code_adaptive,
                              &PythonLayout::code_qualname,
                              &PythonLayout::object_type,
                              &PythonLayout::tuple_items,
                              &PythonLayout::dict_keys_ptr,
                              &PythonLayout::unicode_state,
                              &PythonLayout::gil_locked,
                              &PythonLayout::gil_last_holder}) {
        CHECK(debug.*member == release.*member);
    }
}
