// parse_asyncio_debug_offsets over the real _Py_AsyncioModuleDebugOffsets of Debian's 3.14.10
// and 3.15 builds, release and debug (`readelf -x .AsyncioDebug` on _asyncio's extension module
// (3.14) and on the interpreter, which has _asyncio built in (3.15)), and over each kind of
// implausible value: the block has no cookie, so a scan of writable memory relies on refusing
// anything that is not a plausible block.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "cpython/asyncio_debug.hpp"

using namespace stackscope;

namespace {

using Words = std::array<uint64_t, AsyncioDebugOffsets::kWords>;

// Word order of the section: task size, name, awaited_by, is_task, awaited_by_is_set, coro,
// node; interpreter size, tasks head; thread state size, running loop, running task, tasks head.
enum Word : size_t {
    kTaskSize,
    kTaskName,
    kTaskAwaitedBy,
    kTaskIsTask,
    kTaskAwaitedByIsSet,
    kTaskCoro,
    kTaskNode,
    kInterpSize,
    kInterpTasksHead,
    kTstateSize,
    kTstateRunningLoop,
    kTstateRunningTask,
    kTstateTasksHead,
};

// _asyncio.cpython-314-x86_64-linux-gnu.so of python3.14 3.14.10 (Debian).
constexpr Words k314 = {168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880};
// _asyncio.cpython-314d-x86_64-linux-gnu.so of python3.14-dbg: a bigger interpreter state.
constexpr Words k314Debug = {168, 136, 96, 108, 109, 128, 152, 225880, 10888, 936, 864, 872, 880};
// usr/bin/python3.15 (Debian): _asyncio is built in; the thread state grew.
constexpr Words k315 = {168, 136, 96, 108, 109, 128, 152, 226240, 10856, 1104, 1024, 1032, 1048};
// usr/bin/python3.15d of python3.15-dbg.
constexpr Words k315Debug = {168, 136, 96, 108, 109, 128, 152, 226256, 10864, 1104, 1024, 1032, 1048};

std::vector<uint8_t> bytes_of(const Words& words) {
    std::vector<uint8_t> out(AsyncioDebugOffsets::kBytes);
    std::memcpy(out.data(), words.data(), out.size());
    return out;
}

std::optional<AsyncioDebugOffsets> parsed(const Words& words) { return parse_asyncio_debug_offsets(bytes_of(words)); }

Words with(Words words, Word at, uint64_t value) {
    words[at] = value;
    return words;
}

void check_same(const AsyncioDebugOffsets& o, const Words& w) {
    CHECK(o.task_size == w[kTaskSize]);
    CHECK(o.task_name == w[kTaskName]);
    CHECK(o.task_awaited_by == w[kTaskAwaitedBy]);
    CHECK(o.task_is_task == w[kTaskIsTask]);
    CHECK(o.task_awaited_by_is_set == w[kTaskAwaitedByIsSet]);
    CHECK(o.task_coro == w[kTaskCoro]);
    CHECK(o.task_node == w[kTaskNode]);
    CHECK(o.interp_size == w[kInterpSize]);
    CHECK(o.interp_tasks_head == w[kInterpTasksHead]);
    CHECK(o.tstate_size == w[kTstateSize]);
    CHECK(o.tstate_running_loop == w[kTstateRunningLoop]);
    CHECK(o.tstate_running_task == w[kTstateRunningTask]);
    CHECK(o.tstate_tasks_head == w[kTstateTasksHead]);
}

}  // namespace

TEST_CASE("The real .AsyncioDebug blocks of 3.14 and 3.15 are accepted as they are", "[asyncio_debug]") {
    const std::pair<const char*, Words> builds[] = {
        {"3.14", k314}, {"3.14-dbg", k314Debug}, {"3.15", k315}, {"3.15-dbg", k315Debug}};
    for (const auto& [name, words] : builds) {
        INFO(name);
        const auto o = parsed(words);
        REQUIRE(o);
        check_same(*o, words);
        // What follows the block in memory does not matter.
        std::vector<uint8_t> longer = bytes_of(words);
        longer.resize(longer.size() + 24, 0xff);
        CHECK(parse_asyncio_debug_offsets(longer));
    }
    // Pinned against 3.14.10's as measured (cpython-internals.md): a TaskObj of 168 bytes.
    const auto o = parsed(k314);
    REQUIRE(o);
    CHECK(o->task_size == 168);
    CHECK(o->task_name == 136);
    CHECK(o->task_node == 152);
    CHECK(o->interp_tasks_head == 10880);
    CHECK(o->tstate_tasks_head == 880);
}

TEST_CASE("A block that is short, or holds any implausible value, is refused", "[asyncio_debug]") {
    const std::vector<uint8_t> whole = bytes_of(k314);
    CHECK_FALSE(parse_asyncio_debug_offsets({}));
    CHECK_FALSE(parse_asyncio_debug_offsets(std::span(whole).first(AsyncioDebugOffsets::kBytes - 1)));
    CHECK_FALSE(parsed(Words{}));  // zeroed memory

    struct Case {
        const char* why;
        Word at;
        uint64_t value;
    };
    const Case cases[] = {
        // The task: an object of at least a header and a few pointers, 8-byte aligned, bounded.
        {"task smaller than an object", kTaskSize, 56},
        {"task too big", kTaskSize, 4104},
        {"task size not 8-aligned", kTaskSize, 172},
        {"task size garbage", kTaskSize, 0x00007f0012345678},
        // Its pointer fields: past the object header, aligned, inside the task.
        {"name in the header", kTaskName, 8},
        {"name misaligned", kTaskName, 132},
        {"name at the task's end", kTaskName, 168},
        {"name past the task", kTaskName, 4096},
        {"name wraps", kTaskName, ~uint64_t{7}},
        {"awaited_by in the header", kTaskAwaitedBy, 0},
        {"awaited_by misaligned", kTaskAwaitedBy, 97},
        {"awaited_by past the task", kTaskAwaitedBy, 168},
        {"coro misaligned", kTaskCoro, 129},
        {"coro past the task", kTaskCoro, 200},
        // The list node: two pointers inside the task.
        {"node misaligned", kTaskNode, 156},
        {"node's prev past the task", kTaskNode, 160},
        {"node wraps", kTaskNode, ~uint64_t{7}},
        // The flags: two adjacent bytes inside the task.
        {"is_task past the task", kTaskIsTask, 168},
        {"is_task not before awaited_by_is_set", kTaskIsTask, 110},
        {"awaited_by_is_set not after is_task", kTaskAwaitedByIsSet, 108},
        {"awaited_by_is_set far from is_task", kTaskAwaitedByIsSet, 200},
        // The interpreter state: at least a page, at most 16 MiB, its list head inside.
        {"interpreter too small", kInterpSize, 4088},
        {"interpreter too big", kInterpSize, (16ull << 20) + 8},
        {"interpreter size not 8-aligned", kInterpSize, 225865},
        {"interpreter head misaligned", kInterpTasksHead, 10884},
        {"interpreter head's prev past the state", kInterpTasksHead, 225856},
        {"interpreter head past the state", kInterpTasksHead, 225864},
        // The thread state: 256 bytes to 64 KiB; its fields past the PyThreadState header.
        {"thread state too small", kTstateSize, 248},
        {"thread state too big", kTstateSize, 65544},
        {"thread state size not 8-aligned", kTstateSize, 940},
        {"running loop in the header", kTstateRunningLoop, 56},
        {"running loop misaligned", kTstateRunningLoop, 866},
        {"running loop past the state", kTstateRunningLoop, 936},
        {"running task in the header", kTstateRunningTask, 0},
        {"running task misaligned", kTstateRunningTask, 873},
        {"running task past the state", kTstateRunningTask, 1000},
        {"tasks head misaligned", kTstateTasksHead, 876},
        {"tasks head's prev past the state", kTstateTasksHead, 928},
        {"tasks head past the state", kTstateTasksHead, 936},
    };
    for (const Case& c : cases) {
        INFO(c.why);
        REQUIRE(k314[c.at] != c.value);
        CHECK_FALSE(parsed(with(k314, c.at, c.value)));
    }
}

TEST_CASE("The bounds are inclusive where the layout allows it", "[asyncio_debug]") {
    // A field may end exactly at its object's end, and sizes may sit on their bounds.
    CHECK(parsed(with(k314, kTaskCoro, 160)));
    CHECK(parsed(with(k314, kTaskNode, 16)));
    CHECK(parsed(with(with(k314, kTaskIsTask, 166), kTaskAwaitedByIsSet, 167)));
    CHECK(parsed(with(k314, kTstateTasksHead, 920)));
    CHECK(parsed(with(with(with(with(k314, kTstateSize, 256), kTstateRunningLoop, 64), kTstateRunningTask, 72),
                      kTstateTasksHead, 240)));
    CHECK(parsed(with(with(k314, kInterpSize, 4096), kInterpTasksHead, 4080)));
    CHECK(parsed(with(k314, kInterpSize, 16ull << 20)));
    CHECK(parsed(with(k314, kTaskSize, 4096)));
}
