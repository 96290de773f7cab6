// Numbers read from the target that arithmetic must not trust: each case is a value a corrupt
// target can hold, on which the code once overflowed (undefined behaviour: the sanitized build
// stops there) or gave a wrong answer.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cpython/asyncio_futures.hpp"
#include "cpython/builtin_types.hpp"
#include "cpython/code_variables.hpp"
#include "cpython/frame_locals.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/function_closure.hpp"
#include "cpython/lock_objects.hpp"
#include "cpython/object_reader.hpp"
#include "stackscope/error.hpp"
#include "synthetic_memory.hpp"
#include "target/remote_memory.hpp"

using namespace stackscope;
using stackscope_test::ObjectBuilder;
using stackscope_test::SyntheticTarget;

TEST_CASE("untrusted numbers: a closure's names counted near INT64_MIN are bad data") {
    const PythonLayout layout = *layout_for(3, 12);  // the free variables' names end co_localsplusnames
    SyntheticTarget target;
    ObjectBuilder b(target, layout);
    const uint64_t function = b.alloc(256), closure = b.alloc(64), code = b.alloc(512), names = b.alloc(64);
    target.put_u64(function + layout.func_closure, closure);
    target.put<int64_t>(closure + layout.var_size, 1);  // one cell
    target.put_u64(function + layout.func_code, code);
    target.put_u64(code + layout.code_localsplusnames, names);
    for (const int64_t count : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min()}) {
        target.put<int64_t>(names + layout.var_size, count);
        RemoteMemory memory(target);
        BuiltinTypes types;
        ObjectReader objects(memory, layout, types);
        CHECK_THROWS_AS(closure_variables(objects, function, kMaxLibraryClosureCells), Error);
    }
}

TEST_CASE("untrusted numbers: an RLock level at INT64_MAX is not read as a count") {
    const PythonLayout layout = *layout_for(3, 13);  // PyRecursiveMutex: count = level + 1 while held
    SyntheticTarget target;
    ObjectBuilder b(target, layout);
    const uint64_t type = b.type("_thread.RLock");
    target.put<int64_t>(type + layout.type_basicsize, 40);
    const auto rlock = [&](uint64_t level) {
        const uint64_t at = b.alloc(64);
        target.put_u64(at + layout.object_type, type);
        target.put<uint8_t>(at + 16, 1);  // its mutex, locked
        target.put_u64(at + 32, level);
        return at;
    };
    const uint64_t sane = rlock(1), overflowing = rlock(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    RemoteMemory memory(target);
    BuiltinTypes types;
    ObjectReader objects(memory, layout, types);
    LockObjects locks(objects);
    const LockObject* read = locks.read(sane);
    REQUIRE(read != nullptr);
    CHECK(read->locked == true);
    CHECK(read->count == 2);
    CHECK(locks.read(overflowing) == nullptr);
}

TEST_CASE("untrusted numbers: argument counts whose sum wraps 32 bits are bad data") {
    const PythonLayout layout = *layout_for(3, 12);
    const uint32_t both = layout.code_flag_varargs | layout.code_flag_varkeywords;
    CHECK_THROWS_AS(argument_slots(0x7fffffff, 0x7fffffff, both, layout), Error);
    CHECK_THROWS_AS(argument_slots(0x7fffffff, 0, 0, layout), Error);
    CHECK(argument_slots(3, 2, both, layout) == 7);
}

TEST_CASE("untrusted numbers: the variable names kept for --locals are bounded in all") {
    // Code objects can each claim 16,384 names, read up to 256 characters each (one tuple, named
    // by all of them): kept per code object, 10,000 frames would have held about 100 GiB.
    const PythonLayout layout = *layout_for(3, 12);
    SyntheticTarget target;
    ObjectBuilder b(target, layout);
    const uint64_t code_type = b.type("code"), str_type = b.type("str"), tuple_type = b.type("tuple"),
                   bytes_type = b.type("bytes");
    constexpr size_t kNames = 16384;
    const uint64_t name = b.str(str_type, std::string(1000, 'n'));
    const uint64_t names = b.alloc(static_cast<size_t>(layout.tuple_items) + 8 * kNames);
    target.put_u64(names + layout.object_type, tuple_type);
    target.put<int64_t>(names + layout.var_size, static_cast<int64_t>(kNames));
    for (size_t i = 0; i < kNames; ++i) target.put_u64(names + layout.tuple_items + 8 * i, name);
    const std::vector<uint8_t> plain_locals(kNames, 0x20);  // CO_FAST_LOCAL
    const uint64_t kinds = b.bytes(bytes_type, plain_locals);
    Stack stack;
    for (int i = 0; i < 8; ++i) {
        const auto code = b.code(code_type, name, name, name, 1, 0, 4);
        target.put_u64(code.address + layout.code_localsplusnames, names);
        target.put_u64(code.address + layout.code_localspluskinds, kinds);
        target.put<uint32_t>(code.address + layout.code_flags, layout.code_flag_optimized);
        const uint64_t frame = b.alloc(static_cast<size_t>(layout.frame_localsplus) + 8 * kNames);
        b.write_frame(frame, code.address, 0, 0, b.prev_instr(code, 0), 0);
        Frame f;
        f.address = frame;
        stack.frames.push_back(f);
    }
    RemoteMemory memory(target);
    BuiltinTypes types;
    resolve_builtin_types_by_symbol(types, target, nullptr, 0);
    ObjectReader objects(memory, layout, types);
    FrameReader frames(objects);
    AsyncioFutures futures(objects);
    ObjectRepr reprs(objects, frames, futures);
    FrameLocals(objects, frames, reprs).add_locals(stack);
    // Each frame's names take about 10 MiB: the first ones are read, then the bound is reached.
    CHECK_FALSE(stack.frames[0].locals_error.has_value());
    REQUIRE(stack.frames[0].locals.has_value());
    CHECK(stack.frames[0].locals->empty());  // every slot unbound
    REQUIRE(stack.frames[7].locals_error.has_value());
    CHECK_THAT(*stack.frames[7].locals_error, Catch::Contains("variable names"));
}

TEST_CASE("untrusted numbers: a library closure of more cells than its reader allows is refused unread") {
    const PythonLayout layout = *layout_for(3, 12);
    SyntheticTarget target;
    ObjectBuilder b(target, layout);
    const uint64_t function = b.alloc(256), closure = b.alloc(64);
    target.put_u64(function + layout.func_closure, closure);
    target.put<int64_t>(closure + layout.var_size, kMaxLibraryClosureCells + 1);
    RemoteMemory memory(target);
    BuiltinTypes types;
    ObjectReader objects(memory, layout, types);
    const uint64_t reads_before = target.reads();
    CHECK_THROWS_AS(closure_variables(objects, function, kMaxLibraryClosureCells), Error);
    CHECK(target.reads() - reads_before <= 2);  // the closure pointer and its size: no cell, no name
}

TEST_CASE("untrusted numbers: dict entries read by one reader are bounded in all") {
    // One dict of 2^20 (empty) entries that any number of objects could name: each lookup reads
    // it whole. A reader reads 2^26 entries in all, 64 such dicts, then refuses.
    const PythonLayout layout = *layout_for(3, 12);
    SyntheticTarget target;
    ObjectBuilder b(target, layout);
    const uint64_t dict_type = b.type("dict");
    const uint64_t dict = b.dict(dict_type, {});
    constexpr uint8_t kLog2 = 20;
    const uint64_t huge_keys = b.alloc(32 + (size_t{1} << kLog2) + 16 * (size_t{1} << kLog2));
    target.put<uint8_t>(huge_keys + 8, kLog2);
    target.put<uint8_t>(huge_keys + 9, kLog2);  // one-byte indices
    target.put<uint8_t>(huge_keys + 10, 1);
    target.put<int64_t>(huge_keys + 24, int64_t{1} << kLog2);
    target.put_u64(dict + layout.dict_keys_ptr, huge_keys);
    RemoteMemory memory(target);
    BuiltinTypes types;
    types.set(BuiltinType::Dict, dict_type);
    ObjectReader objects(memory, layout, types);
    for (int i = 0; i < 64; ++i) REQUIRE(objects.dict_items(dict).empty());
    CHECK_THROWS_AS(objects.dict_items(dict), Error);
}
