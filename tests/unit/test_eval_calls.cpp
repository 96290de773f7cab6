// Pairing Python frames with the native frames of the eval loop (core/eval_calls.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "stackscope/eval_calls.hpp"

using namespace stackscope;

namespace {

Frame frame(const char* name, bool entry, uint64_t eval_stack_address = 0) {
    Frame f;
    f.name = f.function = name;
    f.entry = entry;
    f.eval_stack_address = eval_stack_address;
    return f;
}

Stack stack_of(std::initializer_list<Frame> frames) {
    Stack stack;
    stack.frames = frames;  // outermost first
    return stack;
}

// Native frames named by symbol only (newest first).
std::vector<NativeFrame> named(std::initializer_list<const char*> symbols) {
    std::vector<NativeFrame> out;
    for (const char* symbol : symbols) out.push_back(NativeFrame{symbol});
    return out;
}

using Placement = std::optional<std::vector<std::optional<size_t>>>;
constexpr std::nullopt_t _ = std::nullopt;

Placement placed(std::initializer_list<std::optional<size_t>> calls) {
    return std::vector<std::optional<size_t>>(calls);
}

std::string show(const Placement& p) {
    if (!p) return "not placed";
    std::string out;
    for (const auto& call : *p) out += call ? std::to_string(*call) + " " : "- ";
    return out;
}

}  // namespace

TEST_CASE("native frames of the eval loop are recognised by symbol", "[eval_calls]") {
    CHECK(classify_native_function("_PyEval_EvalFrameDefault") == NativeFrameRole::EvalLoopEntry);
    CHECK(classify_native_function("_PyEval_EvalFrameDefault.cold") == NativeFrameRole::EvalLoopEntry);
    CHECK(classify_native_function("_TAIL_CALL_CALL_PY_EXACT_ARGS") == NativeFrameRole::EvalLoopInternal);
    CHECK(classify_native_function("_TAIL_CALL_error") == NativeFrameRole::EvalLoopInternal);
    for (const char* other : {"_PyEval_EvalFrame", "PyEval_EvalCode", "_PyEval_Vector", "_PyFunction_Vectorcall",
                              "sem_wait", "", "x_PyEval_EvalFrameDefault", "TAIL_CALL_X"}) {
        CAPTURE(other);
        CHECK(classify_native_function(other) == NativeFrameRole::Other);
    }
}

TEST_CASE("Python frames grouped by eval-loop call", "[eval_calls]") {
    auto frame = [](const char* name, bool entry) {
        Frame f;
        f.name = f.function = name;
        f.entry = entry;
        return f;
    };
    auto names = [](const std::vector<std::vector<const Frame*>>& calls) {
        std::vector<std::vector<std::string>> out;
        for (const auto& call : calls) {
            out.emplace_back();
            for (const Frame* f : call) out.back().push_back(f->name);
        }
        return out;
    };
    Stack stack;
    stack.frames = {frame("main", true), frame("a", false), frame("b", false), frame("cb", true), frame("leaf", false)};
    CHECK(names(frames_by_eval_call(stack)) ==
          std::vector<std::vector<std::string>>{{"leaf", "cb"}, {"b", "a", "main"}});
    stack.frames = {frame("x", true), frame("y", true)};  // 3.8-3.10: one call per frame
    CHECK(names(frames_by_eval_call(stack)) == std::vector<std::vector<std::string>>{{"y"}, {"x"}});
    stack.frames = {frame("cut", false), frame("leaf", false)};  // oldest entry frame unread
    CHECK(names(frames_by_eval_call(stack)) == std::vector<std::vector<std::string>>{{"leaf", "cut"}});
    CHECK(frames_by_eval_call(Stack{}).empty());
}

// Two eval-loop calls (3.11+: a call runs several frames; the newest call is a callback).
const Stack kTwoCalls =
    stack_of({frame("main", true, 0x1f00), frame("a", false), frame("cb", true, 0x1200), frame("leaf", false)});

TEST_CASE("eval-loop calls placed by stack address, without symbols", "[eval_calls]") {
    const std::vector<NativeFrame> natives = {
        {"sem_wait", 0x1000, 0x1100}, {"", 0x1100, 0x1400},         {"PyObject_Call", 0x1400, 0x1500},
        {"", 0x1500, 0x2000},         {"main", 0x2000, UINT64_MAX},
    };
    CHECK(show(place_eval_calls(natives, kTwoCalls)) == show(placed({_, 0, _, 1, _})));
    // The stack wins over symbols that disagree (a stripped eval loop named by a neighbour).
    std::vector<NativeFrame> misnamed = natives;
    misnamed[2].symbol = "_PyEval_EvalFrameDefault";
    misnamed[4].symbol = "_PyEval_EvalFrameDefault";
    CHECK(show(place_eval_calls(misnamed, kTwoCalls)) == show(placed({_, 0, _, 1, _})));
}

TEST_CASE("eval-loop calls placed by symbol where stack addresses do not place them all", "[eval_calls]") {
    const std::vector<NativeFrame> natives = {
        {"sem_wait", 0x1000, 0x1100},      {"_PyEval_EvalFrameDefault", 0x1100, 0x1400},
        {"PyObject_Call", 0x1400, 0x1500}, {"_PyEval_EvalFrameDefault", 0x1500, 0x2000},
        {"main", 0x2000, UINT64_MAX},
    };
    const Placement want = placed({_, 0, _, 1, _});
    // No addresses (3.11-), or one call's missing.
    CHECK(show(place_eval_calls(natives, stack_of({frame("main", true), frame("a", false), frame("cb", true),
                                                   frame("leaf", false)}))) == show(want));
    CHECK(show(place_eval_calls(natives, stack_of({frame("main", true), frame("cb", true, 0x1200)}))) == show(want));
    // Stack ranges unknown, or an address in no unwound frame.
    CHECK(show(place_eval_calls(
              named({"sem_wait", "_PyEval_EvalFrameDefault", "PyObject_Call", "_PyEval_EvalFrameDefault", "main"}),
              kTwoCalls)) == show(want));
    CHECK(show(place_eval_calls(natives, stack_of({frame("main", true, 0x800), frame("cb", true, 0x1200)}))) ==
          show(want));
    // Two calls in one frame's range: the ranges are wrong.
    CHECK(show(place_eval_calls(natives, stack_of({frame("main", true, 0x1210), frame("cb", true, 0x1200)}))) ==
          show(want));
    // An incomplete stack (its oldest entry frame unread): the last group has no address.
    CHECK(show(place_eval_calls(natives, stack_of({frame("cut", false), frame("cb", true, 0x1200)}))) == show(want));
}

TEST_CASE("3.14 tail-calling builds: opcode handlers belong to the entry frame below them", "[eval_calls]") {
    const auto natives = named({"sem_wait", "_TAIL_CALL_CALL_BUILTIN_FAST", "_PyEval_EvalFrameDefault", "PyObject_Call",
                                "_TAIL_CALL_CALL_PY_GENERAL", "_PyEval_EvalFrameDefault", "main"});
    CHECK(eval_loop_frames(natives) == std::vector<size_t>{2, 5});
    CHECK(show(place_eval_calls(natives, kTwoCalls)) == show(placed({_, _, 0, _, _, 1, _})));
    // Handlers with no entry frame below them: a run is one call, on its oldest frame.
    const auto handlers_only = named({"sem_wait", "_TAIL_CALL_A", "_TAIL_CALL_B", "PyObject_Call", "_TAIL_CALL_C"});
    CHECK(eval_loop_frames(handlers_only) == std::vector<size_t>{2, 4});
    CHECK(show(place_eval_calls(handlers_only, kTwoCalls)) == show(placed({_, _, 0, _, 1})));
    // A handler older than an entry frame starts the next call.
    CHECK(eval_loop_frames(named({"_PyEval_EvalFrameDefault", "_TAIL_CALL_A", "_PyEval_EvalFrameDefault", "main"})) ==
          std::vector<size_t>{0, 2});
}

TEST_CASE("clones of the eval loop (.cold parts) are the eval loop", "[eval_calls]") {
    const auto natives = named(
        {"sem_wait", "_PyEval_EvalFrameDefault.cold", "_PyFunction_Vectorcall", "_PyEval_EvalFrameDefault", "main"});
    CHECK(show(place_eval_calls(natives, kTwoCalls)) == show(placed({_, 0, _, 1, _})));
}

TEST_CASE("eval-loop calls not placed when the symbols name another number of calls", "[eval_calls]") {
    // More eval-loop frames than calls, frames without symbols.
    CHECK_FALSE(place_eval_calls(
        named({"", "_PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault"}), kTwoCalls));
    // A stripped interpreter naming only a part of its eval loop (Debian's 3.14: not .cold).
    CHECK_FALSE(
        place_eval_calls(named({"sem_wait", "", "PyObject_Call", "_PyEval_EvalFrameDefault", "main"}), kTwoCalls));
    CHECK(eval_loop_frames(named({"sem_wait", "", "PyObject_Call", "_PyEval_EvalFrameDefault", "main"})) ==
          std::vector<size_t>{3});
    // No native frames at all.
    CHECK_FALSE(place_eval_calls({}, kTwoCalls));
}

TEST_CASE("3.8-3.10: every Python frame is its own eval-loop call", "[eval_calls]") {
    const Stack stack = stack_of({frame("main", true), frame("f", true), frame("g", true)});
    // Entry frames right after one another are calls of their own (an LTO build inlines the
    // calls between them).
    const auto natives = named({"sem_wait", "_PyEval_EvalFrameDefault", "_PyFunction_Vectorcall",
                                "_PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault", "_PyEval_EvalCode", "main"});
    CHECK(eval_loop_frames(natives) == std::vector<size_t>{1, 3, 4});
    CHECK(show(place_eval_calls(natives, stack)) == show(placed({_, 0, _, 1, 2, _, _})));
}

TEST_CASE("an empty stack places nothing, and every native frame runs no call", "[eval_calls]") {
    CHECK(show(place_eval_calls(named({"sem_wait", "_PyEval_EvalFrameDefault", "main"}), Stack{})) ==
          show(placed({_, _, _})));
    CHECK(show(place_eval_calls({}, Stack{})) == show(placed({})));
}
