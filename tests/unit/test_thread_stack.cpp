// Tests for core/frame_reader.hpp, core/thread_stack.hpp and core/snapshot.hpp over a synthetic CPython 3.12 memory
// image (tests/support/synthetic_memory.hpp): type, str, bytes, dict and code objects, frame
// chains with C-stack shim frames, thread states, and the runtime/interpreter structures.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "stackscope/callback_target.hpp"
#include "stackscope/error.hpp"
#include "stackscope/formatters.hpp"
#include "cpython/builtin_types.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/thread_stack.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/python_layout.hpp"
#include "target/remote_memory.hpp"
#include "stackscope/snapshot.hpp"
#include "stackscope/source_files.hpp"
#include "synthetic_memory.hpp"

using stackscope::ChainGuard;
using stackscope::Error;
using stackscope::ErrorKind;
using stackscope::ObjectReader;
using stackscope::PythonLayout;
using stackscope::RemoteMemory;
using stackscope::Stack;
using stackscope::ThreadStackWalker;
using stackscope_test::LocationTable;
using stackscope_test::ObjectBuilder;
using stackscope_test::SyntheticTarget;

namespace {

constexpr uint8_t kOwnedByThread = 0;
constexpr uint8_t kOwnedByCStack = 3;

PythonLayout layout_312() {
    auto l = stackscope::layout_for(3, 12);
    REQUIRE(l);
    return *l;
}

// A 3.12 image: types, module globals, three code objects with known line tables.
struct Image {
    PythonLayout layout = layout_312();
    SyntheticTarget target;
    ObjectBuilder b{target, layout};
    uint64_t code_type = 0, str_type = 0, bytes_type = 0, dict_type = 0;
    uint64_t main_globals = 0, service_globals = 0, threading_globals = 0;
    ObjectBuilder::Code main_code{}, outer_code{}, inner_code{}, run_code{};

    explicit Image(const std::string& main_file = "/app/main.py") {
        code_type = b.type("code");
        str_type = b.type("str");
        bytes_type = b.type("bytes");
        dict_type = b.type("dict");
        const uint64_t name_key = b.str(str_type, "__name__");
        main_globals = b.dict(dict_type, {{b.str(str_type, "__file__"), b.str(str_type, main_file)},
                                          {name_key, b.str(str_type, "__main__")}});
        // A different key object with the same text: found by comparing strings.
        service_globals = b.dict(dict_type, {{b.str(str_type, "__doc__"), 0},
                                             {b.str(str_type, "__name__"), b.str(str_type, "app.service")}});
        threading_globals = b.dict(dict_type, {{name_key, b.str(str_type, "threading")}});

        // <module>: units 0-1 line 1, units 2-4 line 10, units 5-6 line 10, unit 7 no line.
        LocationTable main_lines;
        main_lines.one_line(2, 0).no_column(3, 9).short_form(2).none(1);
        main_code = code("<module>", "<module>", main_file, 1, main_lines, 8);

        // outer: unit 0 line 20, units 1-4 line 21, units 5-6 line 23.
        LocationTable outer_lines;
        outer_lines.one_line(1, 0).one_line(4, 1).one_line(2, 2);
        outer_code = code("outer", "Service.outer", "/app/service.py", 20, outer_lines, 7);

        // inner: units 0-1 line 30, units 2-9 line 35, unit 10 line 32, units 11-12 line 232.
        LocationTable inner_lines;
        inner_lines.one_line(2, 0).no_column(8, 5).no_column(1, -3).no_column(2, 200);
        inner_code = code("inner", "Service.outer.<locals>.inner", "/app/service.py", 30, inner_lines, 13);

        LocationTable run_lines;
        run_lines.one_line(4, 0);
        run_code = code("run", "Thread.run", "/usr/lib/python3.12/threading.py", 990, run_lines, 4);
    }

    ObjectBuilder::Code code(const std::string& name, const std::string& qualname, const std::string& file,
                             int first_line, const LocationTable& lines, size_t units) {
        return b.code(code_type, b.str(str_type, name), b.str(str_type, qualname), b.str(str_type, file), first_line,
                      b.bytes(bytes_type, lines.bytes), units);
    }

    uint64_t frame(const ObjectBuilder::Code& c, int64_t unit, uint64_t previous, uint64_t globals) {
        return b.frame(c.address, previous, globals, b.prev_instr(c, unit), kOwnedByThread);
    }
    uint64_t shim(uint64_t previous) { return b.frame(0, previous, 0, 0, kOwnedByCStack); }

    // A PyThreadState whose cframe->current_frame is `newest`.
    uint64_t thread_state(uint64_t newest, uint64_t interp = 0, uint64_t thread_id = 0, int64_t native_id = 0) {
        const uint64_t cframe = b.alloc(24);
        target.put_u64(cframe + layout.cframe_current_frame, newest);
        const uint64_t ts = b.alloc(256);
        target.put_u64(ts + layout.tstate_interp, interp);
        target.put_u64(ts + layout.tstate_frame, cframe);
        target.put_u64(ts + layout.tstate_thread_id, thread_id);
        target.put<int64_t>(ts + layout.tstate_native_thread_id, native_id);
        return ts;
    }

    Stack walk(uint64_t tstate, stackscope::SourceFiles* sources = nullptr) {
        RemoteMemory mem(target);
        stackscope::BuiltinTypes types;
        stackscope::resolve_builtin_types_by_symbol(types, target, nullptr, 0);
        ObjectReader objects(mem, layout, types);
        stackscope::FrameReader frames(objects);
        ThreadStackWalker walker(objects, frames);
        Stack stack = walker.stack(tstate);
        if (sources) stackscope::add_source_lines(stack, *sources);
        return stack;
    }
};

std::vector<std::string> names(const Stack& s) {
    std::vector<std::string> out;
    for (const auto& f : s.frames) out.push_back(f.name);
    return out;
}

}  // namespace

TEST_CASE("ThreadStackWalker reads a 3.12 stack with shim frames", "[thread_stack]") {
    Image img;
    // Newest first: inner -> outer -> shim -> <module> -> shim (bottom of the eval loop).
    const uint64_t bottom_shim = img.shim(0);
    const uint64_t main_frame = img.frame(img.main_code, 3, bottom_shim, img.main_globals);
    const uint64_t mid_shim = img.shim(main_frame);
    const uint64_t outer_frame = img.frame(img.outer_code, 5, mid_shim, img.service_globals);
    const uint64_t inner_frame = img.frame(img.inner_code, 10, outer_frame, img.service_globals);
    const Stack s = img.walk(img.thread_state(inner_frame));

    CHECK_FALSE(s.error);
    REQUIRE(s.frames.size() == 3);
    CHECK(names(s) == std::vector<std::string>{"<module>", "outer", "inner"});

    const auto& m = s.frames[0];
    CHECK(m.function == "<module>");
    CHECK(m.filename == "/app/main.py");
    CHECK(m.line == 10);
    CHECK(m.module == "__main__");
    CHECK(m.entry);
    CHECK(m.eval_stack_address == bottom_shim);  // the shim lives in its eval call's C frame
    CHECK_FALSE(m.hidden);
    CHECK(m.address == main_frame);

    const auto& o = s.frames[1];
    CHECK(o.function == "Service.outer");
    CHECK(o.filename == "/app/service.py");
    CHECK(o.line == 23);
    CHECK(o.module == "app.service");
    CHECK(o.entry);  // just newer than a shim
    CHECK(o.eval_stack_address == mid_shim);
    CHECK(o.address == outer_frame);

    const auto& i = s.frames[2];
    CHECK(i.function == "Service.outer.<locals>.inner");
    CHECK(i.line == 32);
    CHECK(i.module == "app.service");
    CHECK_FALSE(i.entry);
    CHECK(i.eval_stack_address == 0);
    CHECK(i.address == inner_frame);
    CHECK_FALSE(i.source);  // no SourceFiles given
}

TEST_CASE("ThreadStackWalker: lines at various instruction positions", "[thread_stack]") {
    Image img;
    struct Case {
        int64_t unit;
        std::optional<int> line;
    };
    const std::vector<Case> cases = {
        {-1, 30},  // prev_instr before the first instruction: first line
        {0, 30},  {1, 30}, {2, 35}, {9, 35}, {10, 32}, {11, 232}, {12, 232}, {13, std::nullopt},  // past the table
    };
    for (const Case& c : cases) {
        INFO("code unit " << c.unit);
        const Stack s = img.walk(img.thread_state(img.frame(img.inner_code, c.unit, 0, img.main_globals)));
        CHECK_FALSE(s.error);
        REQUIRE(s.frames.size() == 1);
        CHECK(s.frames[0].line == c.line);
    }
    const Stack none = img.walk(img.thread_state(img.frame(img.main_code, 7, 0, img.main_globals)));
    REQUIRE(none.frames.size() == 1);
    CHECK_FALSE(none.frames[0].line);  // a "no location" entry
}

TEST_CASE("ThreadStackWalker: modules, hidden threading frames, empty stacks", "[thread_stack]") {
    Image img;
    SECTION("threading's run() is hidden, globals 0 gives no module") {
        const uint64_t run = img.frame(img.run_code, 1, 0, img.threading_globals);
        const uint64_t no_globals = img.frame(img.outer_code, 2, run, 0);
        const Stack s = img.walk(img.thread_state(no_globals));
        CHECK_FALSE(s.error);
        REQUIRE(s.frames.size() == 2);
        CHECK(s.frames[0].module == "threading");
        CHECK(s.frames[0].hidden);
        CHECK(s.frames[0].line == 990);
        CHECK_FALSE(s.frames[1].module);
        CHECK_FALSE(s.frames[1].hidden);
        CHECK(s.frames[1].line == 21);
    }
    SECTION("a dict without __name__, and an unreadable globals pointer") {
        const uint64_t empty_globals = img.b.dict(img.dict_type, {{img.b.str(img.str_type, "__file__"), 0}});
        const uint64_t a = img.frame(img.main_code, 0, 0, empty_globals);
        const uint64_t b = img.frame(img.main_code, 0, a, 0x7fff00000000);
        const Stack s = img.walk(img.thread_state(b));
        CHECK_FALSE(s.error);
        REQUIRE(s.frames.size() == 2);
        CHECK_FALSE(s.frames[0].module);
        CHECK_FALSE(s.frames[1].module);
    }
    SECTION("no frames at all") {
        const Stack s = img.walk(img.thread_state(0));
        CHECK(s.frames.empty());
        CHECK_FALSE(s.error);
    }
    SECTION("a null cframe") {
        const uint64_t ts = img.thread_state(0);
        img.target.put_u64(ts + img.layout.tstate_frame, 0);
        const Stack s = img.walk(ts);
        CHECK(s.frames.empty());
        CHECK_FALSE(s.error);
    }
    SECTION("only shims") {
        const Stack s = img.walk(img.thread_state(img.shim(img.shim(0))));
        CHECK(s.frames.empty());
        CHECK_FALSE(s.error);
    }
}

TEST_CASE("ThreadStackWalker reads source lines through SourceFiles", "[thread_stack]") {
    char tmpl[] = "/tmp/stackscope-src-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string file = std::string(tmpl) + "/main.py";
    {
        std::ofstream out(file);
        for (int i = 1; i <= 12; ++i)
            out << (i == 10 ? "    result = outer(  42 )  \n" : "# line " + std::to_string(i) + "\n");
    }
    Image img(file);
    stackscope::SourceFiles sources("");
    const Stack s = img.walk(img.thread_state(img.frame(img.main_code, 4, 0, img.main_globals)), &sources);
    ::unlink(file.c_str());
    ::rmdir(tmpl);
    REQUIRE(s.frames.size() == 1);
    CHECK(s.frames[0].line == 10);
    CHECK(s.frames[0].source == "result = outer(  42 )");
}

TEST_CASE("ThreadStackWalker survives corrupt frame chains", "[thread_stack]") {
    Image img;

    SECTION("a chain that loops") {
        const uint64_t a = img.frame(img.main_code, 3, 0, img.main_globals);
        const uint64_t b = img.frame(img.outer_code, 5, a, img.main_globals);
        const uint64_t c = img.frame(img.inner_code, 10, b, img.main_globals);
        img.target.put_u64(a + img.layout.frame_previous, c);  // a -> c -> b -> a
        const Stack s = img.walk(img.thread_state(c));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("loops"));
        CHECK(names(s) == std::vector<std::string>{"<module>", "outer", "inner"});
    }
    SECTION("a frame that is its own previous") {
        const uint64_t a = img.frame(img.main_code, 3, 0, img.main_globals);
        img.target.put_u64(a + img.layout.frame_previous, a);
        const Stack s = img.walk(img.thread_state(a));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("loops"));
        CHECK(s.frames.size() == 1);
    }
    SECTION("a previous pointer into unmapped memory") {
        const uint64_t a = img.frame(img.outer_code, 5, 0x6660000, img.main_globals);
        const uint64_t b = img.frame(img.inner_code, 10, a, img.main_globals);
        const Stack s = img.walk(img.thread_state(b));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("0x666"));
        CHECK(names(s) == std::vector<std::string>{"outer", "inner"});
        CHECK(s.frames[0].line == 23);
    }
    SECTION("a misaligned previous pointer") {
        const uint64_t a = img.frame(img.outer_code, 5, 0, img.main_globals);
        const uint64_t b = img.frame(img.inner_code, 10, a + 3, img.main_globals);
        const Stack s = img.walk(img.thread_state(b));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("misaligned"));
        CHECK(names(s) == std::vector<std::string>{"inner"});
    }
    SECTION("code pointers that are not code objects are skipped") {
        const uint64_t not_code = img.b.str(img.str_type, "I am a str");
        const uint64_t a = img.frame(img.main_code, 3, 0, img.main_globals);
        const uint64_t b = img.b.frame(not_code, a, img.main_globals, 0, kOwnedByThread);
        const uint64_t c = img.frame(img.inner_code, 10, b, img.main_globals);
        const Stack s = img.walk(img.thread_state(c));
        CHECK_FALSE(s.error);
        CHECK(names(s) == std::vector<std::string>{"<module>", "inner"});
    }
    SECTION("a zero-filled frame (a stack missing from a core) ends the walk with an error") {
        const uint64_t zeros = img.b.frame(0, 0, 0, 0, kOwnedByThread);
        const uint64_t c = img.frame(img.inner_code, 10, zeros, img.main_globals);
        const Stack s = img.walk(img.thread_state(c));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("zero-filled"));
        CHECK(names(s) == std::vector<std::string>{"inner"});
    }
    SECTION("a code pointer into unmapped memory") {
        const uint64_t a = img.frame(img.main_code, 3, 0, img.main_globals);
        const uint64_t b = img.b.frame(0x7770000, a, img.main_globals, 0, kOwnedByThread);
        const uint64_t c = img.frame(img.inner_code, 10, b, img.main_globals);
        const Stack s = img.walk(img.thread_state(c));
        REQUIRE(s.error);
        CHECK(names(s) == std::vector<std::string>{"inner"});
    }
    SECTION("a code object with a garbage str length") {
        const uint64_t bad_name = img.b.str(img.str_type, "short", int64_t{1} << 40);
        LocationTable lines;
        lines.one_line(4, 0);
        const auto bad = img.b.code(img.code_type, bad_name, img.b.str(img.str_type, "q"),
                                    img.b.str(img.str_type, "/f.py"), 1, img.b.bytes(img.bytes_type, lines.bytes), 4);
        const uint64_t a = img.frame(img.main_code, 3, 0, img.main_globals);
        const uint64_t b = img.frame(bad, 1, a, img.main_globals);
        const uint64_t c = img.frame(img.inner_code, 10, b, img.main_globals);
        const Stack s = img.walk(img.thread_state(c));
        REQUIRE(s.error);
        CHECK(names(s) == std::vector<std::string>{"inner"});
    }
    SECTION("a code object with a negative str length") {
        const uint64_t bad_file = img.b.str(img.str_type, "x.py", 0);
        img.target.put<int64_t>(bad_file + img.layout.unicode_length, -5);
        LocationTable lines;
        lines.one_line(4, 0);
        const auto bad = img.b.code(img.code_type, img.b.str(img.str_type, "f"), img.b.str(img.str_type, "f"), bad_file,
                                    1, img.b.bytes(img.bytes_type, lines.bytes), 4);
        const Stack s = img.walk(img.thread_state(img.frame(bad, 1, 0, img.main_globals)));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("negative"));
        CHECK(s.frames.empty());
    }
    SECTION("a line table of the wrong type") {
        const auto bad = img.b.code(img.code_type, img.b.str(img.str_type, "f"), img.b.str(img.str_type, "f"),
                                    img.b.str(img.str_type, "/f.py"), 1, img.b.str(img.str_type, "not bytes"), 4);
        const Stack s = img.walk(img.thread_state(img.frame(bad, 1, 0, img.main_globals)));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains("not of type bytes"));
    }
    SECTION("more than kMaxFrames frames") {
        const size_t count = ChainGuard::kMaxFrames + 5;
        // One block for all frames (alloc leaves gaps between blocks).
        const uint64_t stride = 80;
        const uint64_t base = 0x50000000;
        img.target.add_block(base, count * stride);
        for (size_t i = 0; i < count; ++i) {
            const uint64_t at = base + i * stride;
            const uint64_t previous = i + 1 < count ? at + stride : 0;
            img.b.write_frame(at, img.outer_code.address, previous, img.main_globals,
                              img.b.prev_instr(img.outer_code, 2), kOwnedByThread);
        }
        const Stack s = img.walk(img.thread_state(base));
        REQUIRE(s.error);
        CHECK_THAT(s.error->message, Catch::Contains(std::to_string(ChainGuard::kMaxFrames)));
        CHECK(s.frames.size() == ChainGuard::kMaxFrames);
        CHECK(s.frames.back().address == base);  // newest kept, outermost first
        CHECK(s.frames.back().line == 21);
    }
    SECTION("exactly kMaxFrames frames is fine") {
        const size_t count = ChainGuard::kMaxFrames;
        const uint64_t stride = 80;
        const uint64_t base = 0x50000000;
        img.target.add_block(base, count * stride);
        for (size_t i = 0; i < count; ++i) {
            const uint64_t at = base + i * stride;
            img.b.write_frame(at, img.outer_code.address, i + 1 < count ? at + stride : 0, img.main_globals,
                              img.b.prev_instr(img.outer_code, 2), kOwnedByThread);
        }
        const Stack s = img.walk(img.thread_state(base));
        CHECK_FALSE(s.error);
        CHECK(s.frames.size() == count);
    }
    SECTION("an unreadable thread state") {
        const Stack s = img.walk(0x12340000);
        REQUIRE(s.error);
        CHECK(s.frames.empty());
    }
}

// ---------------------------------------------------------------------------
// take_snapshot over a synthetic runtime
// ---------------------------------------------------------------------------

namespace {

struct RuntimeImage : Image {
    uint64_t runtime = 0, interp = 0, interp2 = 0, gil = 0, gil2 = 0;
    uint64_t main_ts = 0, worker_ts = 0, sub_ts = 0;

    explicit RuntimeImage(uint32_t py_version = 0x030c01f0) {
        const PythonLayout& l = layout;
        const uint64_t version = b.alloc(4);
        target.put<uint32_t>(version, py_version);
        runtime = b.alloc(512);
        interp = b.alloc(1024);
        interp2 = b.alloc(1024);
        gil = b.alloc(64);
        gil2 = b.alloc(64);
        target.set_symbol("_PyRuntime", runtime);
        target.set_symbol("Py_Version", version);
        target.set_pid(31337);

        target.put_u64(runtime + l.runtime_interpreters_head, interp);
        target.put_u64(interp + l.interp_next, interp2);
        target.put<int64_t>(interp + l.interp_id, 0);
        target.put_u64(interp + l.interp_gil, gil);
        target.put_u64(interp2 + l.interp_next, 0);
        target.put<int64_t>(interp2 + l.interp_id, 7);
        target.put_u64(interp2 + l.interp_gil, gil2);

        // Main thread: <module> -> outer -> inner; worker: threading run -> outer.
        const uint64_t m0 = frame(main_code, 3, shim(0), main_globals);
        const uint64_t m1 = frame(outer_code, 5, shim(m0), service_globals);
        const uint64_t m2 = frame(inner_code, 10, m1, service_globals);
        main_ts = thread_state(m2, interp, 0x7f0011112222, 1001);
        const uint64_t w0 = frame(run_code, -1, shim(0), threading_globals);  // not started: first line
        const uint64_t w1 = frame(outer_code, 2, w0, service_globals);
        worker_ts = thread_state(w1, interp, 0x7f0033334444, 1002);
        // The interpreter lists its newest thread first.
        target.put_u64(interp + l.interp_threads_head, worker_ts);
        target.put_u64(worker_ts + l.tstate_next, main_ts);
        target.put_u64(main_ts + l.tstate_next, 0);

        sub_ts = thread_state(frame(main_code, 0, 0, main_globals), interp2, 0x7f0055556666, 1003);
        target.put_u64(interp2 + l.interp_threads_head, sub_ts);

        // The worker holds the main interpreter's GIL; the subinterpreter's GIL is free but
        // names a stale holder.
        target.put<int32_t>(gil + l.gil_locked, 1);
        target.put_u64(gil + l.gil_last_holder, worker_ts);
        target.put<int32_t>(gil2 + l.gil_locked, 0);
        target.put_u64(gil2 + l.gil_last_holder, sub_ts);
    }
};

}  // namespace

TEST_CASE("take_snapshot over a synthetic 3.12 runtime", "[snapshot]") {
    RuntimeImage img;
    stackscope::ExtractionStats stats;
    const auto snap = stackscope::take_snapshot(img.target, &stats);

    CHECK(snap.python_version == "3.12.1");
    CHECK(snap.pid == 31337);
    CHECK_FALSE(snap.partial());
    REQUIRE(snap.threads.size() == 3);

    const auto& main = snap.threads[0];
    CHECK(main.tid == 1001);
    CHECK(main.pthread_id == 0x7f0011112222u);
    CHECK(main.thread_state == img.main_ts);
    CHECK(main.interpreter_id == 0);
    CHECK_FALSE(main.holds_gil);
    CHECK(names(main.stack) == std::vector<std::string>{"<module>", "outer", "inner"});
    CHECK(main.stack.frames[0].entry);
    CHECK(main.stack.frames[1].entry);
    CHECK_FALSE(main.stack.frames[2].entry);
    CHECK(main.stack.frames[2].line == 32);

    const auto& worker = snap.threads[1];
    CHECK(worker.tid == 1002);
    CHECK(worker.pthread_id == 0x7f0033334444u);
    CHECK(worker.holds_gil);
    CHECK(worker.interpreter_id == 0);
    REQUIRE(worker.stack.frames.size() == 2);
    CHECK(worker.stack.frames[0].hidden);
    CHECK(worker.stack.frames[0].line == 990);
    CHECK(worker.stack.frames[1].line == 21);

    const auto& sub = snap.threads[2];
    CHECK(sub.tid == 1003);
    CHECK(sub.interpreter_id == 7);
    CHECK_FALSE(sub.holds_gil);  // its GIL is not locked
    REQUIRE(sub.stack.frames.size() == 1);
    CHECK(sub.stack.frames[0].line == 1);

    CHECK(stats.target_reads > 0);
    CHECK(stats.target_reads == img.target.reads());
}

TEST_CASE("take_snapshot through a CallbackTarget", "[snapshot][callback]") {
    RuntimeImage img;
    const std::string direct = stackscope::format_snapshot_json(stackscope::take_snapshot(img.target));
    size_t calls = 0;
    stackscope::TargetCallbacks callbacks;
    callbacks.read = [&](uint64_t address, std::span<uint8_t> out) {
        ++calls;
        return img.target.read(address, out);
    };
    callbacks.lookup_symbol = [&](std::string_view name) { return img.target.lookup_symbol(name); };
    callbacks.pid = img.target.pid();

    SECTION("read + symbols alone give the same snapshot, through the page cache") {
        stackscope::CallbackTarget target(callbacks);
        stackscope::ExtractionStats stats;
        CHECK(stackscope::format_snapshot_json(stackscope::take_snapshot(target, &stats)) == direct);
        CHECK(calls == stats.target_reads);
        CHECK(calls < 200);  // pages, not objects: each 4 KiB page is read once
    }
    SECTION("debugger-supplied threads give the tids of versions that record only pthread ids") {
        callbacks.threads = [] { return std::vector<stackscope::TargetThread>{{4242, 0x7f0011112222u}}; };
        stackscope::CallbackTarget target(callbacks);
        CHECK(target.threads().size() == 1);
        CHECK(stackscope::format_snapshot_json(stackscope::take_snapshot(target)) ==
              direct);  // 3.12 records tids itself
    }
    SECTION("failing reads give an error, never a crash") {
        callbacks.read = [&](uint64_t address, std::span<uint8_t> out) -> size_t {
            if (++calls > 6) return 0;  // everything after the runtime's first pages is unreadable
            return img.target.read(address, out);
        };
        stackscope::CallbackTarget target(callbacks);
        try {
            const auto snap = stackscope::take_snapshot(target);
            CHECK(snap.partial());
        } catch (const Error& e) {
            CHECK((e.kind() == ErrorKind::UnsupportedRuntime || e.kind() == ErrorKind::InconsistentData));
        }
    }
    SECTION("short reads are never taken for more than was asked") {
        callbacks.read = [&](uint64_t address, std::span<uint8_t> out) -> size_t {
            return img.target.read(address, out) + 100;  // a buggy callback
        };
        stackscope::CallbackTarget target(callbacks);
        uint8_t buf[8];
        CHECK(target.read(img.runtime, buf) == sizeof buf);
    }
    SECTION("a callback that fails whole reads (as debuggers do) still gives the readable prefix") {
        callbacks.read = [&](uint64_t address, std::span<uint8_t> out) -> size_t {
            const size_t got = img.target.read(address, out);
            const bool several_pages = address / 4096 != (address + out.size() - 1) / 4096;
            return got < out.size() && several_pages ? 0 : got;  // all or nothing beyond one page
        };
        stackscope::CallbackTarget target(callbacks);
        const auto& regions = img.target.regions();
        REQUIRE_FALSE(regions.empty());
        const uint64_t start = regions.back().end - 100;  // 100 bytes before the end of memory
        std::vector<uint8_t> want(3 * 4096), got(3 * 4096);
        const size_t readable = img.target.read(start, want);
        REQUIRE(readable == 100);
        CHECK(target.read(start, got) == readable);
        CHECK(std::equal(want.begin(), want.begin() + 100, got.begin()));
        CHECK(stackscope::format_snapshot_json(stackscope::take_snapshot(target)) == direct);
    }
    SECTION("a callback target needs a read callback") {
        callbacks.read = nullptr;
        CHECK_THROWS_AS(stackscope::CallbackTarget(callbacks), Error);
    }
}

size_t complete_threads(const stackscope::Snapshot& snap) {
    size_t complete = 0;
    for (const auto& t : snap.threads) complete += !t.stack.error && !t.stack.frames.empty();
    return complete;
}

TEST_CASE("take_snapshot: versions and broken runtimes", "[snapshot]") {
    SECTION("Py_Version of a release candidate") {
        RuntimeImage img(0x030c00c2);
        CHECK(stackscope::take_snapshot(img.target).python_version == "3.12.0rc2");
    }
    SECTION("an unsupported version is an unsupported runtime") {
        RuntimeImage img(0x030712f0);
        try {
            (void)stackscope::take_snapshot(img.target);
            FAIL("3.7 accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
            CHECK_THAT(e.what(), Catch::Contains("Python 3.7.18 is not supported"));
        }
    }
    SECTION("no runtime symbol is an unsupported runtime") {
        SyntheticTarget empty;
        empty.add_block(0x1000, 4096);
        try {
            (void)stackscope::take_snapshot(empty);
            FAIL("no runtime, yet a snapshot");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
        }
    }
    SECTION("a runtime whose thread does not point back at its interpreter is an unsupported runtime") {
        RuntimeImage img;
        img.target.put_u64(img.worker_ts + img.layout.tstate_interp, img.interp2);
        try {
            (void)stackscope::take_snapshot(img.target);
            FAIL("an inconsistent runtime was accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::UnsupportedRuntime);
        }
    }
    SECTION("a broken thread list keeps the threads read so far") {
        RuntimeImage img;
        img.target.put_u64(img.worker_ts + img.layout.tstate_next, 0x6660000);
        const auto snap = stackscope::take_snapshot(img.target);
        CHECK(snap.partial());
        bool worker = false, broken = false;
        for (const auto& t : snap.threads) {
            worker |= t.tid == 1002 && t.stack.frames.size() == 2 && !t.stack.error;
            broken |= t.stack.error.has_value();
        }
        CHECK(worker);
        CHECK(broken);
        // The error says what happened and where: memory that could not be read, at the pointer.
        const auto with_error = std::find_if(snap.threads.begin(), snap.threads.end(),
                                             [](const stackscope::Thread& t) { return t.stack.error.has_value(); });
        REQUIRE(with_error != snap.threads.end());
        const auto& error = *with_error->stack.error;
        CHECK(error.kind == ErrorKind::UnreadableMemory);
        CHECK(error.address == 0x6660000 + static_cast<uint64_t>(img.layout.tstate_interp));
        CHECK(stackscope::format_snapshot_json(snap, -1).find(R"("error_detail":{"kind":"unreadable_memory")") !=
              std::string::npos);
    }
    SECTION("a looping thread list ends with an error, not a hang") {
        RuntimeImage img;
        img.target.put_u64(img.main_ts + img.layout.tstate_next, img.worker_ts);
        const auto snap = stackscope::take_snapshot(img.target);
        CHECK(snap.partial());
        CHECK(complete_threads(snap) == 3);  // main, worker, and the subinterpreter's thread
    }
    SECTION("a looping interpreter list keeps the threads read so far and ends with an error") {
        RuntimeImage img;
        img.target.put_u64(img.interp2 + img.layout.interp_next, img.interp);
        const auto snap = stackscope::take_snapshot(img.target);
        CHECK(snap.partial());
        CHECK(complete_threads(snap) == 3);
        REQUIRE(snap.threads.back().stack.error);
        CHECK_THAT(snap.threads.back().stack.error->message, Catch::Contains("interpreter list loops"));
        CHECK(snap.threads.back().stack.error->kind == ErrorKind::InconsistentData);
        CHECK(snap.threads.back().stack.error->address == img.interp);
    }
    SECTION("an unreadable next interpreter keeps the first interpreter's threads") {
        RuntimeImage img;
        img.target.put_u64(img.interp + img.layout.interp_next, 0x6660000);
        const auto snap = stackscope::take_snapshot(img.target);
        CHECK(snap.partial());
        CHECK(complete_threads(snap) == 2);
        REQUIRE(snap.threads.back().stack.error);
        CHECK_THAT(snap.threads.back().stack.error->message, Catch::Contains("interpreter list"));
    }
}

// A garbage prev_instr 2^32 units past the code must not wrap onto a real line (it once gave line 32).
TEST_CASE("ThreadStackWalker: a prev_instr 2^32 code units past the code has no line", "[thread_stack]") {
    Image img;
    const Stack s = img.walk(img.thread_state(img.frame(img.inner_code, (int64_t{1} << 32) + 10, 0, img.main_globals)));
    REQUIRE(s.frames.size() == 1);
    CHECK_FALSE(s.frames[0].line);
}

TEST_CASE("a running target's changing stack is read again, then reported", "[snapshot][running]") {
    RuntimeImage img;
    const stackscope::PythonLayout& l = img.layout;
    uint8_t raw[8];
    REQUIRE(img.target.read(img.main_ts + l.tstate_frame, raw) == 8);
    uint64_t cframe = 0;
    std::memcpy(&cframe, raw, 8);
    uint64_t newest = 0;
    REQUIRE(img.target.read(cframe + l.cframe_current_frame, raw) == 8);
    std::memcpy(&newest, raw, 8);
    uint64_t older = 0;
    REQUIRE(img.target.read(newest + l.frame_previous, raw) == 8);
    std::memcpy(&older, raw, 8);
    // The main thread's cframe on a page of its own: only that thread's walk reads it.
    const uint64_t own_page = 0x7e0000000000;
    img.target.add_block(own_page, 4096);
    img.target.put_u64(own_page + l.cframe_current_frame, newest);
    img.target.put_u64(img.main_ts + l.tstate_frame, own_page);
    const uint64_t top_slot = own_page + l.cframe_current_frame;

    // Reads of the slot see the thread returning to `older` on the reads `changed` says.
    size_t slot_reads = 0;
    std::function<bool(size_t)> changed;
    stackscope::TargetCallbacks callbacks;
    callbacks.read = [&](uint64_t address, std::span<uint8_t> out) -> size_t {
        const size_t got = img.target.read(address, out);
        if (address <= top_slot && top_slot + 8 <= address + got && changed(++slot_reads)) {
            std::memcpy(out.data() + (top_slot - address), &older, 8);
        }
        return got;
    };
    callbacks.lookup_symbol = [&](std::string_view name) { return img.target.lookup_symbol(name); };
    callbacks.pid = img.target.pid();
    const stackscope::SnapshotOptions running{.target_running = true, .attempts = 5, .objects = {}};
    stackscope::ExtractionStats stats;

    SECTION("a stack that stays the same is read once") {
        changed = [](size_t) { return false; };
        stackscope::CallbackTarget target(callbacks);
        const auto snap = stackscope::take_snapshot(target, &stats, running);
        CHECK_FALSE(snap.partial());
        CHECK(stats.stack_rereads == 0);
    }
    SECTION("a stack that changed between the walk and its check is walked again") {
        changed = [](size_t n) { return n == 2; };  // the first check sees the thread elsewhere
        stackscope::CallbackTarget target(callbacks);
        const auto snap = stackscope::take_snapshot(target, &stats, running);
        CHECK_FALSE(snap.partial());
        CHECK(stats.stack_rereads == 1);
        CHECK(snap.threads.at(0).stack.frames.size() == 3);
    }
    SECTION("a stack that never holds still is reported after the attempts") {
        changed = [](size_t n) { return n % 2 == 0; };
        stackscope::CallbackTarget target(callbacks);
        const auto snap = stackscope::take_snapshot(target, &stats, running);
        REQUIRE(snap.threads.at(0).stack.error);
        CHECK(snap.threads.at(0).stack.error->message.find("the stack changed while it was read (5 attempts") == 0);
        CHECK(stats.stack_rereads == 4);
        CHECK_FALSE(snap.threads.at(1).stack.error);  // the other threads are read as usual
    }
    SECTION("a stopped target is walked once, changes or not") {
        changed = [](size_t n) { return n % 2 == 0; };
        stackscope::CallbackTarget target(callbacks);
        const auto snap = stackscope::take_snapshot(target, &stats);
        CHECK_FALSE(snap.partial());
        CHECK(stats.stack_rereads == 0);
    }
}

// A FrameReader over an image, with what it reads through (types resolved by symbol).
struct FrameReading {
    explicit FrameReading(Image& img) : mem(img.target), objects(mem, img.layout, types) {
        stackscope::resolve_builtin_types_by_symbol(types, img.target, nullptr, 0);
    }

    RemoteMemory mem;
    stackscope::BuiltinTypes types;
    ObjectReader objects;
    stackscope::FrameReader frames{objects};
};

TEST_CASE("FrameReader keeps at most kMaxLineTableBytes of line tables: past them, lines are unknown",
          "[thread_stack]") {
    // Code objects of a corrupt target all naming one 1 MiB table: kept once per code object,
    // 10,000 of them would have held 10 GiB.
    Image img;
    stackscope_test::LocationTable lines;
    lines.one_line(4, 1);  // units 0-3: the line after the first
    lines.bytes.resize(stackscope::FrameReader::kMaxLineTable, 0x80 | (15 << 3));  // then units without a line
    const uint64_t table = img.b.bytes(img.bytes_type, lines.bytes);
    const size_t fit = stackscope::FrameReader::kMaxLineTableBytes / lines.bytes.size();
    std::vector<uint64_t> frames;
    for (size_t i = 0; i < fit + 2; ++i) {
        const auto code = img.b.code(img.code_type, img.b.str(img.str_type, "f"), img.b.str(img.str_type, "f"),
                                     img.b.str(img.str_type, "/app/f.py"), 100, table, 4);
        frames.push_back(img.frame(code, 2, 0, img.main_globals));
    }
    FrameReading reading(img);
    stackscope::FrameReader& reader = reading.frames;
    for (size_t i = 0; i < frames.size(); ++i) {
        const auto at = reader.location(frames[i]);
        CHECK(at.filename == "/app/f.py");
        if (i < fit) CHECK(at.line == 101);
        else CHECK_FALSE(at.line.has_value());
    }
}

TEST_CASE("FrameReader scans at most kMaxLineScanBytes of line tables for new lines: past them, lines are unknown",
          "[thread_stack]") {
    // One code object with a 1 MiB table whose lines start at its end, and frames at as many
    // instructions: each new instruction's line scans the whole table.
    Image img;
    stackscope_test::LocationTable lines;
    constexpr size_t kWithLines = 40;  // entries of 8 units on a line, 2 bytes each
    const size_t without = stackscope::FrameReader::kMaxLineTable - 2 * kWithLines;
    lines.bytes.assign(without, 0x80 | (15 << 3));  // one unit without a line each
    lines.no_column(8, 1);
    for (size_t i = 1; i < kWithLines; ++i) lines.no_column(8, 0);
    REQUIRE(lines.bytes.size() == stackscope::FrameReader::kMaxLineTable);
    const uint64_t table = img.b.bytes(img.bytes_type, lines.bytes);
    const auto code = img.b.code(img.code_type, img.b.str(img.str_type, "f"), img.b.str(img.str_type, "f"),
                                 img.b.str(img.str_type, "/app/f.py"), 100, table, without + 8 * kWithLines);
    const size_t fit = stackscope::FrameReader::kMaxLineScanBytes / lines.bytes.size();
    REQUIRE(fit + 8 <= 8 * kWithLines);
    std::vector<uint64_t> frames;
    for (size_t i = 0; i < fit + 8; ++i)
        frames.push_back(img.frame(code, static_cast<int64_t>(without + i), 0, img.main_globals));
    FrameReading reading(img);
    stackscope::FrameReader& reader = reading.frames;
    for (size_t i = 0; i < frames.size(); ++i) {
        const auto at = reader.location(frames[i]);
        if (i < fit) CHECK(at.line == 101);
        else CHECK_FALSE(at.line.has_value());
    }
    // A line found before the budget ran out is still known.
    CHECK(reader.location(frames[0]).line == 101);
}

TEST_CASE("FrameReader reads a code object's names and file name bounded", "[thread_stack]") {
    Image img;
    stackscope_test::LocationTable lines;
    lines.one_line(4, 1);
    const uint64_t table = img.b.bytes(img.bytes_type, lines.bytes);
    const std::string long_name(3000, 'n'), long_file(9000, 'p');
    const auto code = img.b.code(img.code_type, img.b.str(img.str_type, long_name), img.b.str(img.str_type, long_name),
                                 img.b.str(img.str_type, "/" + long_file), 100, table, 4);
    const uint64_t frame = img.frame(code, 2, 0, img.main_globals);
    FrameReading reading(img);
    stackscope::FrameReader& reader = reading.frames;
    std::vector<stackscope::Frame> out;
    REQUIRE(reader.read(frame, out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].name == std::string(stackscope::FrameReader::kMaxCodeName, 'n') + "...");
    CHECK(out[0].function == out[0].name);
    CHECK(out[0].filename == "/" + std::string(stackscope::FrameReader::kMaxFilename - 1, 'p') + "...");
    CHECK(out[0].line == 101);
}
