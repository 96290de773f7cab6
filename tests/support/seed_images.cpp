#include "seed_images.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "cpython/python_layout.hpp"
#include "synthetic_memory.hpp"

namespace stackscope_fuzz {

namespace {

using stackscope::PythonLayout;
using stackscope_test::LocationTable;
using stackscope_test::ObjectBuilder;
using stackscope_test::SyntheticTarget;

constexpr uint8_t kOwnedByThread = 0;
constexpr uint8_t kOwnedByGenerator = 1;
constexpr uint8_t kOwnedByCStack = 3;
constexpr uint64_t kUnmappedObject = 0x8;  // an --object address that is no object
constexpr uint64_t kMainPthread = 0x7f0011112222, kWorkerPthread = 0x7f0033334444;

PythonLayout layout(int minor) {
    auto l = stackscope::layout_for(3, minor);
    if (!l) throw std::logic_error("no layout for the seed image");
    return *l;
}

MemoryImage image_of(const SyntheticTarget& t) {
    MemoryImage image;
    image.pid = t.pid();
    for (const auto& [name, address] : t.symbols()) image.symbols[name] = address;
    for (const auto& [address, bytes] : t.blocks()) image.blocks[address].bytes = bytes;
    return image;
}

// The objects every image needs, beyond what ObjectBuilder lays out the same way for all versions.
class Objects {
public:
    Objects(SyntheticTarget& t, const PythonLayout& l) : t_(t), l_(l), b_(t, l) {
        for (const char* name : {"code", "str", "bytes", "dict", "tuple", "int", "module", "frame"})
            types_[name] = b_.type(name);
    }
    ObjectBuilder& b() { return b_; }
    uint64_t type(const std::string& name) { return types_.at(name); }
    uint64_t str(std::string_view s) { return b_.str(type("str"), s); }
    uint64_t bytes(std::span<const uint8_t> data) { return b_.bytes(type("bytes"), data); }

    // A heap type named `qualname` whose instances keep their __dict__ where this version does.
    uint64_t heap_type(std::string_view qualname) {
        const uint64_t at = b_.alloc(1024);
        t_.put_u64(at + l_.type_name, b_.c_string(qualname));
        t_.put<uint64_t>(at + l_.type_flags, l_.type_flag_heap_type | l_.type_flag_managed_dict);
        t_.put<int64_t>(at + l_.type_dictoffset, 16);
        if (l_.heap_type_qualname != stackscope::kAbsent) t_.put_u64(at + l_.heap_type_qualname, str(qualname));
        if (l_.heap_type_name != stackscope::kAbsent)
            t_.put_u64(at + l_.heap_type_name, str(qualname.substr(qualname.rfind('.') + 1)));
        return at;
    }
    // An instance of a heap_type with the given __dict__.
    uint64_t instance(uint64_t type, uint64_t dict) {
        const uint64_t block = b_.alloc(64);
        const uint64_t at = block + 32;  // room for the managed-dict pre-header
        t_.put_u64(at + l_.object_type, type);
        if (l_.instance_dict == stackscope::InstanceDictFormat::DictOffset) t_.put_u64(at + 16, dict);
        else t_.put_u64(at + l_.managed_dict, dict);
        return at;
    }
    uint64_t integer(uint64_t value) {
        uint32_t digits[3] = {};
        uint64_t count = 0;
        for (uint64_t v = value; v; v >>= 30) digits[count++] = static_cast<uint32_t>(v & ((1u << 30) - 1));
        const uint64_t at = b_.alloc(static_cast<size_t>(l_.long_digits) + 12);
        t_.put_u64(at + l_.object_type, type("int"));
        const bool lv_tag = l_.int_format == stackscope::IntFormat::LvTag;
        t_.put<uint64_t>(at + l_.var_size, lv_tag ? count << 3 : count);
        for (uint64_t i = 0; i < count; ++i) t_.put<uint32_t>(at + l_.long_digits + 4 * i, digits[i]);
        return at;
    }
    uint64_t tuple(const std::vector<uint64_t>& items) {
        const uint64_t at = b_.alloc(static_cast<size_t>(l_.tuple_items) + 8 * items.size() + 8);
        t_.put_u64(at + l_.object_type, type("tuple"));
        t_.put<int64_t>(at + l_.var_size, static_cast<int64_t>(items.size()));
        for (size_t i = 0; i < items.size(); ++i) t_.put_u64(at + l_.tuple_items + 8 * i, items[i]);
        return at;
    }
    // A dict of str keys, in this version's keys format.
    uint64_t dict(const std::vector<std::pair<std::string, uint64_t>>& items) {
        std::vector<std::pair<uint64_t, uint64_t>> objects;
        for (const auto& [key, value] : items) objects.emplace_back(str(key), value);
        return dict_of(objects);
    }
    uint64_t dict_of(const std::vector<std::pair<uint64_t, uint64_t>>& items) {
        if (l_.dict_keys == stackscope::DictKeysFormat::Kinds311) return b_.dict(type("dict"), items);
        // 3.8-3.10: dk_size @8, dk_nentries @32, one-byte indices @40, {hash, key, value} entries.
        const int64_t size = 8;
        const uint64_t keys = b_.alloc(40 + size + 24 * items.size() + 8);
        t_.put<int64_t>(keys + 8, size);
        t_.put<int64_t>(keys + 32, static_cast<int64_t>(items.size()));
        for (size_t i = 0; i < items.size(); ++i) {
            t_.put_u64(keys + 40 + size + 24 * i + 8, items[i].first);
            t_.put_u64(keys + 40 + size + 24 * i + 16, items[i].second);
        }
        const uint64_t d = b_.alloc(48);
        t_.put_u64(d + l_.object_type, type("dict"));
        t_.put_u64(d + l_.dict_keys_ptr, keys);
        return d;
    }
    // sys.modules with a threading module whose _active and _main_thread name two threads.
    uint64_t modules_naming(uint64_t main_ident, uint64_t worker_ident) {
        const uint64_t thread_type = heap_type("Thread");
        auto thread = [&](std::string_view name, uint64_t ident) {
            return instance(thread_type, dict({{"_name", str(name)}, {"_ident", integer(ident)}}));
        };
        const uint64_t main = thread("MainThread", main_ident);
        const uint64_t active =
            dict_of({{integer(main_ident), main}, {integer(worker_ident), thread("worker-1", worker_ident)}});
        const uint64_t globals = dict({{"__name__", str("threading")}, {"_active", active}, {"_main_thread", main}});
        const uint64_t module = b_.alloc(64);
        t_.put_u64(module + l_.object_type, type("module"));
        t_.put_u64(module + l_.module_dict, globals);
        return dict({{"threading", module}});
    }

private:
    SyntheticTarget& t_;
    const PythonLayout& l_;
    ObjectBuilder b_;
    std::map<std::string, uint64_t> types_;
};

// The runtime, its interpreter (threads newest first) and its GIL, held by `holder`.
struct RuntimeParts {
    uint64_t runtime, interp, gil;
};

RuntimeParts runtime(SyntheticTarget& t, ObjectBuilder& b, const PythonLayout& l, size_t runtime_size,
                     size_t interp_size) {
    RuntimeParts p{};
    p.runtime = b.alloc(runtime_size);
    p.interp = b.alloc(interp_size);
    t.put_u64(p.runtime + l.runtime_interpreters_head, p.interp);
    if (l.gil_location == stackscope::GilLocation::Runtime) {
        p.gil = p.runtime + static_cast<uint64_t>(l.runtime_gil);
    } else {
        p.gil = b.alloc(64);
        t.put_u64(p.interp + l.interp_gil, p.gil);
    }
    return p;
}

void link_threads(SyntheticTarget& t, const PythonLayout& l, const RuntimeParts& p, uint64_t main_ts,
                  uint64_t worker_ts) {
    t.put_u64(p.interp + l.interp_threads_head, worker_ts);
    t.put_u64(worker_ts + l.tstate_next, main_ts);
    t.put<int32_t>(p.gil + l.gil_locked, 1);
    t.put_u64(p.gil + l.gil_last_holder, worker_ts);
}

// 3.11+ images: <module> -> Service.outer -> inner on the main thread, Thread.run -> outer on the worker.
MemoryImage interpreter_frame_image(const PythonLayout& l, SyntheticTarget& t, Objects& o, const RuntimeParts& p,
                                    const std::vector<std::string>& sys_functions) {
    ObjectBuilder& b = o.b();
    auto code = [&](std::string_view name, std::string_view qualname, std::string_view file, int first_line,
                    const LocationTable& lines, size_t units) {
        // One allocation after the other, in the order the committed seeds were written with (an
        // argument list's order of evaluation is the compiler's: gcc's and clang's differ).
        const uint64_t table = o.bytes(lines.bytes);
        const uint64_t file_name = o.str(file), qualified_name = o.str(qualname), short_name = o.str(name);
        return b.code(o.type("code"), short_name, qualified_name, file_name, first_line, table, units);
    };
    LocationTable main_lines, outer_lines, inner_lines, run_lines;
    main_lines.one_line(2, 0).no_column(3, 9).short_form(2).none(1);
    outer_lines.one_line(1, 0).one_line(4, 1).one_line(2, 2);
    inner_lines.one_line(2, 0).no_column(8, 5).no_column(1, -3).no_column(2, 200);
    run_lines.one_line(4, 0);
    const auto main_code = code("<module>", "<module>", "/app/main.py", 1, main_lines, 8);
    const auto outer_code = code("outer", "Service.outer", "/app/service.py", 20, outer_lines, 7);
    const auto inner_code = code("inner", "Service.outer.<locals>.inner", "/app/service.py", 30, inner_lines, 13);
    const auto run_code = code("run", "Thread.run", "/usr/lib/python3/threading.py", 990, run_lines, 4);
    const uint64_t main_globals = o.dict({{"__name__", o.str("__main__")}});
    const uint64_t service_globals = o.dict({{"__name__", o.str("app.service")}});
    const uint64_t threading_globals = o.dict({{"__name__", o.str("threading")}});

    auto frame = [&](const ObjectBuilder::Code& c, int64_t unit, uint64_t previous, uint64_t globals) {
        return b.frame(c.address, previous, globals, b.prev_instr(c, unit), kOwnedByThread);
    };
    auto shim = [&](uint64_t previous) { return b.frame(0, previous, 0, 0, kOwnedByCStack); };
    auto thread_state = [&](uint64_t newest, uint64_t pthread, int64_t tid) {
        const uint64_t ts = b.alloc(256);
        if (l.top_frame == stackscope::TopFrameSource::CFrameCurrentFrame) {
            const uint64_t cframe = b.alloc(24);
            t.put_u64(cframe + l.cframe_current_frame, newest);
            t.put_u64(ts + l.tstate_frame, cframe);
        } else {
            t.put_u64(ts + l.tstate_frame, newest);
        }
        t.put_u64(ts + l.tstate_interp, p.interp);
        t.put_u64(ts + l.tstate_thread_id, pthread);
        t.put<int64_t>(ts + l.tstate_native_thread_id, tid);
        return ts;
    };
    // Generators and coroutines, each with its frame embedded.
    const uint64_t coroutine_type = b.type("coroutine"), generator_type = b.type("generator");
    const stackscope::GeneratorStates& states = l.generator_states;
    auto generator = [&](uint64_t type, std::string_view qualname, int state, const ObjectBuilder::Code& c,
                         int64_t unit, uint64_t previous) {
        const uint64_t at = b.alloc(static_cast<size_t>(l.gen_frame + l.frame_localsplus) + 64);
        t.put_u64(at + l.object_type, type);
        t.put_u64(at + l.gen_qualname, o.str(qualname));
        t.put<int8_t>(at + l.gen_frame_state, static_cast<int8_t>(state));
        b.write_frame(at + static_cast<uint64_t>(l.gen_frame), c.address, previous, service_globals,
                      b.prev_instr(c, unit), kOwnedByGenerator);
        return at;
    };
    // A coroutine suspended in `await` on one suspended at a plain yield: the awaited object on
    // top of its value stack, and the RESUME after its YIELD_VALUE saying "after await" (3.12),
    // or its state saying so (3.13).
    const uint64_t awaited = generator(coroutine_type, "Service.fetch", states.suspended, inner_code, 4, 0);
    const bool yield_from_state = l.yield_from == stackscope::YieldFromRule::SuspendedYieldFrom;
    const uint64_t awaiting =
        generator(coroutine_type, "Service.outer", yield_from_state ? states.suspended_yield_from : states.suspended,
                  outer_code, 3, 0);
    if (!l.opcodes_resume.empty()) {
        const uint64_t resume = outer_code.address + static_cast<uint64_t>(l.code_adaptive) + 4 * 2;
        t.put<uint8_t>(resume, static_cast<uint8_t>(l.opcodes_resume.front()));
        t.put<uint8_t>(resume + 1, 3);  // after await
    }
    const uint64_t awaiting_frame = awaiting + static_cast<uint64_t>(l.gen_frame);
    t.put<int32_t>(awaiting_frame + l.frame_stack_top, 1);
    t.put_u64(awaiting_frame + l.frame_localsplus, awaited);
    const uint64_t not_started = generator(coroutine_type, "Service.fetch", states.created, inner_code, -1, 0);
    const uint64_t finished = generator(generator_type, "Service.outer", states.completed, outer_code, 6, 0);

    const uint64_t m0 = frame(main_code, 3, shim(0), main_globals);
    const uint64_t m1 = frame(outer_code, 5, shim(m0), service_globals);
    const uint64_t main_ts = thread_state(frame(inner_code, 10, m1, service_globals), kMainPthread, 1001);
    const uint64_t w0 = frame(run_code, -1, shim(0), threading_globals);
    // The worker runs a generator: its newest frame is the one embedded in it.
    const uint64_t running = generator(generator_type, "Service.outer", states.executing, outer_code, 2, w0);
    const uint64_t worker_ts = thread_state(running + static_cast<uint64_t>(l.gen_frame), kWorkerPthread, 1002);
    link_threads(t, l, p, main_ts, worker_ts);
    t.put_u64(p.interp + l.interp_modules, o.modules_naming(kMainPthread, kWorkerPthread));
    if (!sys_functions.empty()) {
        // The sys module's dict, holding builtin functions under the given names.
        const uint64_t builtin_type = b.type("builtin_function_or_method");
        std::vector<std::pair<std::string, uint64_t>> sys_items{{"__name__", o.str("sys")}};
        for (const std::string& name : sys_functions) {
            const uint64_t function = b.alloc(64);
            t.put_u64(function + l.object_type, builtin_type);
            sys_items.emplace_back(name, function);
        }
        t.put_u64(p.interp + l.interp_sysdict, o.dict(sys_items));
    }
    MemoryImage image = image_of(t);
    image.objects = {awaiting, running, not_started, finished, main_globals, kUnmappedObject};
    return image;
}

}  // namespace

MemoryImage seed_image_312(const std::vector<std::string>& sys_functions) {
    const PythonLayout l = layout(12);
    SyntheticTarget t;
    t.set_pid(31337);
    Objects o(t, l);
    const RuntimeParts p = runtime(t, o.b(), l, 512, 1024);
    const uint64_t version = o.b().alloc(4);
    t.put<uint32_t>(version, 0x030c01f0);
    t.set_symbol("_PyRuntime", p.runtime);
    t.set_symbol("Py_Version", version);
    return interpreter_frame_image(l, t, o, p, sys_functions);
}

MemoryImage seed_image_313(const std::string& debug_offsets_file, const std::vector<std::string>& sys_functions) {
    std::ifstream in(debug_offsets_file, std::ios::binary);
    const std::vector<uint8_t> debug_offsets((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (debug_offsets.size() < 512) throw std::runtime_error("cannot read " + debug_offsets_file);
    PythonLayout l = layout(13);
    stackscope::apply_debug_offsets(l, debug_offsets);  // build with the offsets the reader will take
    SyntheticTarget t;
    t.set_pid(31313);
    Objects o(t, l);
    const RuntimeParts p = runtime(t, o.b(), l, debug_offsets.size() + 256, static_cast<size_t>(l.interp_modules) + 64);
    const uint64_t interpreters_head = p.runtime + l.runtime_interpreters_head;
    t.write(p.runtime, debug_offsets);
    t.put_u64(interpreters_head, p.interp);
    MemoryImage image = interpreter_frame_image(l, t, o, p, sys_functions);
    image.blocks.at(p.runtime).path =
        "/usr/lib/x86_64-linux-gnu/libpython3.13.so.1.0";  // no symbol: found by its cookie
    return image;
}

MemoryImage seed_image_310() {
    const PythonLayout l = layout(10);
    SyntheticTarget t;
    t.set_pid(31010);
    Objects o(t, l);
    ObjectBuilder& b = o.b();
    const RuntimeParts p = runtime(t, b, l, 512, 1024);
    const uint64_t version = b.alloc(4);
    t.put<uint32_t>(version, 0x030a0df0);
    t.set_symbol("_PyRuntime", p.runtime);
    t.set_symbol("Py_Version", version);

    // PEP 626 pairs (bytes, line delta): bytes 0-5 on first_line + 1, 6-11 two lines further.
    const std::vector<uint8_t> lines = {6, 1, 6, 2};
    auto code = [&](std::string_view name, std::string_view file, int first_line, const std::vector<uint64_t>& varnames,
                    int argcount) {
        const uint64_t at = b.alloc(256);
        t.put_u64(at + l.object_type, o.type("code"));
        t.put<int32_t>(at + l.code_argcount, argcount);
        t.put<int32_t>(at + l.code_nlocals, static_cast<int32_t>(varnames.size()));
        t.put<int32_t>(at + l.code_firstlineno, first_line);
        t.put_u64(at + l.code_varnames, o.tuple(varnames));
        t.put_u64(at + l.code_cellvars, o.tuple({}));
        t.put_u64(at + l.code_filename, o.str(file));
        t.put_u64(at + l.code_name, o.str(name));
        t.put_u64(at + l.code_linetable, o.bytes(lines));
        return at;
    };
    const uint64_t module_code = code("<module>", "/app/main.py", 1, {}, 0);
    const uint64_t method_code = code("handle", "/app/service.py", 20, {o.str("self")}, 1);
    const uint64_t run_code = code("run", "/usr/lib/python3.10/threading.py", 940, {o.str("self")}, 1);
    const uint64_t service = o.instance(o.heap_type("Service"), 0);
    const uint64_t main_globals = o.dict({{"__name__", o.str("__main__")}});
    const uint64_t threading_globals = o.dict({{"__name__", o.str("threading")}});

    auto frame = [&](uint64_t code_object, int32_t lasti, uint64_t back, uint64_t globals, uint64_t self) {
        const uint64_t at = b.alloc(static_cast<size_t>(l.frame_localsplus) + 16);
        t.put_u64(at + l.object_type, o.type("frame"));
        t.put_u64(at + l.frame_previous, back);
        t.put_u64(at + l.frame_code, code_object);
        t.put_u64(at + l.frame_globals, globals);
        t.put<int32_t>(at + l.frame_instruction, lasti);
        t.put_u64(at + l.frame_localsplus, self);
        return at;
    };
    auto thread_state = [&](uint64_t newest, uint64_t pthread) {
        const uint64_t ts = b.alloc(256);
        t.put_u64(ts + l.tstate_interp, p.interp);
        t.put_u64(ts + l.tstate_frame, newest);
        t.put_u64(ts + l.tstate_thread_id, pthread);
        return ts;
    };
    const uint64_t m0 = frame(module_code, 4, 0, main_globals, 0);
    const uint64_t main_ts = thread_state(frame(method_code, 3, m0, main_globals, service), kMainPthread);
    const uint64_t worker_ts = thread_state(frame(run_code, -1, 0, threading_globals, service), kWorkerPthread);
    link_threads(t, l, p, main_ts, worker_ts);
    t.put_u64(p.interp + l.interp_modules, o.modules_naming(kMainPthread, kWorkerPthread));

    // A generator suspended in `yield from` another, suspended at a plain yield: f_lasti is the
    // instruction before YIELD_FROM (opcode 72 at byte 4), the inner generator on top of the
    // value stack (f_valuestack, f_stackdepth), f_state SUSPENDED.
    const uint64_t generator_type = b.type("generator");
    auto generator = [&](std::string_view name, int32_t lasti, const std::vector<uint8_t>& bytecode) {
        const uint64_t c = code(name, "/app/service.py", 40, {}, 0);
        t.put_u64(c + l.code_bytecode, o.bytes(bytecode));
        const uint64_t f = frame(c, lasti, 0, main_globals, 0);
        t.put<int8_t>(f + l.frame_state, static_cast<int8_t>(l.generator_states.suspended));
        const uint64_t at = b.alloc(128);
        t.put_u64(at + l.object_type, generator_type);
        t.put_u64(at + l.gen_frame, f);
        t.put_u64(at + l.gen_qualname, o.str(name));
        return std::pair{at, f};
    };
    const auto [inner, inner_frame] = generator("produce", 0, {100, 0, 86, 0, 1, 0});
    const auto [outer, outer_frame] =
        generator("relay", 1, {100, 0, 100, 0, static_cast<uint8_t>(l.opcode_yield_from), 0});
    const uint64_t value_stack = b.alloc(16);
    t.put_u64(value_stack, inner);
    t.put_u64(outer_frame + l.frame_valuestack, value_stack);
    t.put<int32_t>(outer_frame + l.frame_stack_top, 1);
    (void)inner_frame;
    const uint64_t finished = b.alloc(128);  // gi_frame NULL
    t.put_u64(finished + l.object_type, generator_type);
    t.put_u64(finished + l.gen_qualname, o.str("done"));

    MemoryImage image = image_of(t);
    image.threads = {{2001, kMainPthread}, {2002, kWorkerPthread}};  // tids by pthread_t, as a core gives them
    image.objects = {outer, finished, service, kUnmappedObject};
    return image;
}

}  // namespace stackscope_fuzz
