// stackscope_core: the core's Python API, for the GDB front-end (built for the Python that
// gdb embeds) and for plain Python of the same version.
//
//   from_pid(pid, stop_threads=True, threads=None, sources=True, native=False) -> Snapshot
//   from_core(path, executable="", lib_search_path=[], sources=True, native=False) -> Snapshot
//     (native: each thread's native frames, Thread.native, and the threads without a Python
//     thread state too, as the CLI's --native)
//   from_callbacks(read, regions=None, threads=None, lookup_symbol=None,
//                  local_file=None, pid=0, source_root="", sources=True)  -> Snapshot
//   from_debugger(kind, pid, threads, read, regions=None, lookup_symbol=None, core_path="",
//                 executable="", lib_search_path=[], memory="auto", sources=True,
//                 objects=[], locals=False, tasks=False, locks=False)  -> Snapshot (with objects:
//                 their stacks, Snapshot.objects; with locals: each frame's variables, -locals; with
//                 tasks: every asyncio task, Snapshot.tasks_tree / tasks_flat / json; with locks: who
//                 holds and waits for each lock, Snapshot.locks_text / json)
//   pthread_from_handle(bytes), kernel_view(orig_rax, rdi), native_frames([(symbol, sp)])
//   classify_native_function(symbol) -> "entry" | "internal" | "other"
//   is_python_file(path) -> bool
//   Thread.place_eval_calls(natives) -> [call index or None per native frame] or None
//   parse_options(surface, words) -> (OutputOptions, [positional words]); UsageError
//   options_usage(surface), options_help(surface, width=79), option_completions(surface, words, partial)
//     (surface: "cli", "gdb" or "lldb"; the option table of stackscope/options.hpp)
//
// Errors raise stackscope_core.Error, or the subclass named after what happened:
// NotPythonError, PermissionDeniedError, NoSuchTargetError, InvalidInputError, UsageError,
// UnreadableMemoryError, InconsistentDataError, InternalError; each has `kind`
// ("unsupported_runtime", ...: the core's name of the cause).
// The module holds no state beyond its exception classes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "stackscope/callback_target.hpp"
#include "stackscope/core_file.hpp"
#include "stackscope/error.hpp"
#include "stackscope/eval_calls.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/hex.hpp"
#include "stackscope/live_process.hpp"
#include "stackscope/options.hpp"
#include "stackscope/debugger.hpp"
#include "stackscope/snapshot.hpp"
#include "stackscope/source_files.hpp"

namespace py = pybind11;
using namespace stackscope;

namespace {

// ---- errors ---------------------------------------------------------------------------

struct ErrorClass {
    ErrorKind kind;
    const char* name;
};
constexpr std::array<ErrorClass, 8> kErrorClasses{{
    {ErrorKind::UnsupportedRuntime, "NotPythonError"},
    {ErrorKind::PermissionDenied, "PermissionDeniedError"},
    {ErrorKind::NoSuchTarget, "NoSuchTargetError"},
    {ErrorKind::BadInput, "InvalidInputError"},
    {ErrorKind::Usage, "UsageError"},
    {ErrorKind::UnreadableMemory, "UnreadableMemoryError"},
    {ErrorKind::InconsistentData, "InconsistentDataError"},
    {ErrorKind::Internal, "InternalError"},
}};

// Created once at import and never freed (they must outlive every translation).
PyObject* g_error_base = nullptr;
std::array<PyObject*, kErrorClasses.size()> g_error_types{};

PyObject* error_type(ErrorKind kind) {
    for (size_t i = 0; i < kErrorClasses.size(); ++i) {
        if (kErrorClasses[i].kind == kind) return g_error_types[i];
    }
    return g_error_base;
}

void register_errors(py::module_& m) {
    g_error_base = PyErr_NewExceptionWithDoc("stackscope_core.Error", "A stackscope extraction failed.",
                                             PyExc_RuntimeError, nullptr);
    if (!g_error_base) throw py::error_already_set();
    m.add_object("Error", py::handle(g_error_base));
    for (size_t i = 0; i < kErrorClasses.size(); ++i) {
        const std::string qualified = std::string("stackscope_core.") + kErrorClasses[i].name;
        PyObject* type = PyErr_NewException(qualified.c_str(), g_error_base, nullptr);
        if (!type) throw py::error_already_set();
        py::setattr(type, "kind", py::str(std::string(error_kind_name(kErrorClasses[i].kind))));
        g_error_types[i] = type;
        m.add_object(kErrorClasses[i].name, py::handle(type));
    }
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            PyErr_SetString(error_type(e.kind()), e.what());
        } catch (const py::builtin_exception&) {
            throw;  // pybind11's own (cast errors, ...): it translates them
        } catch (const py::error_already_set&) {
            throw;
        } catch (const std::exception& e) {
            // A bug in the core, not a failure of the target: one InternalError, never a traceback.
            PyErr_SetString(error_type(ErrorKind::Internal), (std::string("internal error: ") + e.what()).c_str());
        }
    });
}

// ---- options --------------------------------------------------------------------------

Surface surface_of(const std::string& name) {
    if (name == "cli") return Surface::Cli;
    if (name == "gdb") return Surface::Gdb;
    if (name == "lldb") return Surface::Lldb;
    throw Error(ErrorKind::Usage, "no surface '" + name + "' (cli, gdb or lldb)");
}

// The option table (stackscope/options.hpp), for py-stackscope's parsing, help and completion.
void register_options(py::module_& m) {
    py::class_<OutputOptions>(m, "OutputOptions", "What py-stackscope's options ask of the output.")
        .def_property_readonly(
            "format", [](const OutputOptions& o) { return std::string(format_name(o.format)); }, "tree, flat or json")
        .def_readonly("ascii", &OutputOptions::ascii)
        .def_readonly("show_hidden", &OutputOptions::show_hidden)
        .def_readonly("no_contexts", &OutputOptions::no_contexts)
        .def_readonly("locals", &OutputOptions::locals)
        .def_readonly("native", &OutputOptions::native)
        .def_property_readonly(
            "color", [](const OutputOptions& o) { return std::string(color_name(o.color)); }, "auto, always or never");
    m.def(
        "parse_options",
        [](const std::string& surface, const std::vector<std::string>& words) {
            ParsedOptions parsed = parse_options(surface_of(surface), words);
            if (!parsed.error.empty()) throw Error(ErrorKind::Usage, parsed.error);
            return std::make_pair(parsed.options, parsed.positional);
        },
        py::arg("surface"), py::arg("words"),
        "(OutputOptions, [the words that are not options]) of a command's words; UsageError (one line) when they are "
        "wrong.");
    m.def(
        "options_usage", [](const std::string& surface) { return options_usage(surface_of(surface)); },
        py::arg("surface"), "The options for a usage line: [-format tree|flat|json | -flat | -json] [-ascii] ...");
    m.def(
        "options_help",
        [](const std::string& surface, size_t width) { return options_help(surface_of(surface), width); },
        py::arg("surface"), py::arg("width") = 79, "One line (wrapped) per option: its name, value and help.");
    m.def(
        "option_completions",
        [](const std::string& surface, const std::vector<std::string>& words, const std::string& partial) {
            return option_completions(surface_of(surface), words, partial);
        },
        py::arg("surface"), py::arg("words"), py::arg("partial"),
        "The option words (or an option's values) that may complete `partial` after `words`.");
    m.def(
        "use_color",
        [](const std::string& choice, bool automatic) {
            OutputOptions options;
            const std::string bad = apply_options(Surface::Gdb, std::vector<GivenOption>{{"color", choice}}, options);
            if (!bad.empty()) throw Error(ErrorKind::Usage, bad);
            return use_color(options.color, automatic);
        },
        py::arg("choice"), py::arg("automatic"),
        "Whether to colour: True for always, False for never, `automatic` (the debugger's own rule) for auto.");
    m.def("terminal_allows_color", &terminal_allows_color, py::arg("is_terminal"), py::arg("no_color") = py::none(),
          py::arg("term") = py::none(),
          "The CLI's rule for --color auto: a terminal, NO_COLOR unset or empty, TERM set and not dumb.");
}

// ---- callbacks ------------------------------------------------------------------------

// A callback that raised: a Ctrl-C (gdb turns a quit during read_memory or execute into
// KeyboardInterrupt) must stop the command, not make the read look unreadable.
void rethrow_interrupt(py::error_already_set& e) {
    if (e.matches(PyExc_KeyboardInterrupt)) throw;
}

// A callable, or a plain value standing for a callable that returns it.
py::object call_or_value(const py::object& source) { return PyCallable_Check(source.ptr()) ? source() : source; }

// One call of the read callback; 0 when it raised (CallbackTarget then retries page by page).
size_t read_once(const py::object& read, uint64_t address, uint8_t* out, size_t size) {
    try {
        py::object data = read(address, size);
        if (data.is_none()) return 0;
        const py::buffer_info info = py::buffer(data).request();
        const size_t got = std::min(size, static_cast<size_t>(info.size * info.itemsize));
        std::memcpy(out, info.ptr, got);
        return got;
    } catch (py::error_already_set& e) {
        rethrow_interrupt(e);
        return 0;
    } catch (const std::exception&) {
        return 0;
    }
}

std::vector<MemoryRegion> regions_from(const py::object& source) {
    std::vector<MemoryRegion> out;
    try {
        for (py::handle item : py::iterable(call_or_value(source))) {
            const py::sequence fields = py::reinterpret_borrow<py::sequence>(item);
            if (fields.size() < 4) continue;
            MemoryRegion r;
            r.start = fields[0].cast<uint64_t>();
            r.end = fields[1].cast<uint64_t>();
            r.file_offset = fields[2].cast<uint64_t>();
            if (!fields[3].is_none()) r.path = fields[3].cast<std::string>();
            if (fields.size() > 4 && !fields[4].is_none()) {  // "rwxp"-style permissions
                const std::string perms = fields[4].cast<std::string>();
                r.readable = perms.find('r') != std::string::npos;
                r.writable = perms.find('w') != std::string::npos;
                r.executable = perms.find('x') != std::string::npos;
            }
            out.push_back(std::move(r));
        }
    } catch (py::error_already_set& e) {
        rethrow_interrupt(e);
    } catch (const py::cast_error&) {}
    return out;
}

using ThreadList = std::vector<std::pair<int, std::optional<uint64_t>>>;

// [(tid, pthread_id or None[, syscall or None, syscall_arg0])]: the optional pair is the
// kernel's view of the thread (orig_rax, rdi), which a debugger reads from its registers.
std::vector<TargetThread> threads_from(const py::object& source) {
    std::vector<TargetThread> out;
    try {
        for (const py::handle item : call_or_value(source)) {
            const auto fields = py::reinterpret_borrow<py::sequence>(item);
            TargetThread t;
            t.tid = fields[0].cast<int>();
            t.pthread_id = fields[1].cast<std::optional<uint64_t>>();
            if (fields.size() >= 4) {
                t.syscall = fields[2].cast<std::optional<int64_t>>();
                t.syscall_arg0 = fields[3].cast<uint64_t>();
            }
            out.push_back(t);
        }
    } catch (py::error_already_set& e) {
        rethrow_interrupt(e);
        return {};
    } catch (const py::cast_error&) {
        return {};
    }
    return out;
}

// lookup_symbol(name) -> address or None, as a SymbolLookup (empty for None).
SymbolLookup symbols_from(const py::object& lookup_symbol) {
    if (lookup_symbol.is_none()) return nullptr;
    return [lookup_symbol](std::string_view name) -> std::optional<uint64_t> {
        try {
            py::object address = lookup_symbol(std::string(name));
            if (!address.is_none()) return address.cast<uint64_t>();
        } catch (py::error_already_set& e) {
            rethrow_interrupt(e);
        } catch (const py::cast_error&) {}
        return std::nullopt;
    };
}

// A Python int as the 64-bit value a register holds (negative ints in two's complement).
uint64_t register_value(const py::handle& value) {
    const unsigned long long bits = PyLong_AsUnsignedLongLongMask(value.ptr());
    if (bits == static_cast<unsigned long long>(-1) && PyErr_Occurred()) throw py::error_already_set();
    return bits;
}

// A debugger's thread, (number, tid, handle bytes or None[, orig_rax or None, rdi or None[,
// registers or None]]): the handle is decoded by pthread_from_handle, orig_rax and rdi by
// kernel_view_from_registers; registers, the 17 of TargetThread::registers (DWARF's order).
DebuggerThread debugger_thread_from(const py::handle& item) {
    const auto fields = py::reinterpret_borrow<py::sequence>(item);
    DebuggerThread t;
    t.number = fields[0].cast<int>();
    t.tid = fields[1].cast<int>();
    if (!fields[2].is_none()) {
        const std::string handle = fields[2].cast<py::bytes>();
        t.pthread_id = pthread_from_handle(std::span(reinterpret_cast<const uint8_t*>(handle.data()), handle.size()));
    }
    if (fields.size() >= 5 && !fields[3].is_none() && !fields[4].is_none()) {
        const KernelView view = kernel_view_from_registers(register_value(fields[3]), register_value(fields[4]));
        t.syscall = view.syscall;
        t.syscall_arg0 = view.syscall_arg0;
    }
    if (fields.size() >= 6 && !fields[5].is_none()) {
        const auto values = py::reinterpret_borrow<py::sequence>(fields[5]);
        if (values.size() != kDwarfRegisterCount)
            throw Error(ErrorKind::Usage,
                        "a thread's registers are " + std::to_string(kDwarfRegisterCount) + " values");
        std::array<uint64_t, kDwarfRegisterCount> registers{};
        for (size_t i = 0; i < kDwarfRegisterCount; ++i) registers[i] = register_value(values[i]);
        t.registers = registers;
    }
    return t;
}

// ---- extraction -----------------------------------------------------------------------

using SnapshotPtr = std::shared_ptr<Snapshot>;

SnapshotPtr from_pid(int pid, bool stop_threads, const std::optional<ThreadList>& threads, bool sources, bool native) {
    if (native && !stop_threads)
        throw Error(ErrorKind::Usage, "native=True needs the threads' registers: stop_threads=True");
    auto snap = std::make_shared<Snapshot>();
    std::string source_root;
    {
        py::gil_scoped_release release;
        auto owned = std::make_unique<LiveProcess>(pid, LiveProcess::Options{stop_threads});
        LiveProcess& process = *owned;
        source_root = process.source_root();
        std::unique_ptr<Target> target = std::move(owned);
        if (threads) {
            // The caller (a debugger that traces the process) knows the threads better.
            std::vector<DebuggerThread> listed;
            for (const auto& [tid, pthread_id] : *threads) listed.push_back(DebuggerThread{0, tid, pthread_id});
            std::vector<TargetThread> merged = merge_kernel_view(listed, process.threads());
            target = std::make_unique<OverlayTarget>(std::move(target), std::move(merged), nullptr);
        }
        SnapshotOptions options;
        options.native = native;
        *snap = take_snapshot(*target, nullptr, options);
        process.detach();
        // Source files are named by the target and may be slow to read: only once it runs again.
        if (sources) {
            SourceFiles files(source_root);
            add_source_lines(*snap, files);
        }
    }
    return snap;
}

SnapshotPtr from_core(const std::string& path, const std::string& executable,
                      const std::vector<std::string>& lib_search_path, bool sources, bool native) {
    auto snap = std::make_shared<Snapshot>();
    py::gil_scoped_release release;
    CoreFile core(path, CoreFileOptions{executable, lib_search_path});
    SnapshotOptions options;
    options.native = native;
    *snap = take_snapshot(core, nullptr, options);
    if (sources) {
        SourceFiles files(core.source_root());
        add_source_lines(*snap, files);
    }
    return snap;
}

// The callbacks run with the GIL held (they are Python code).
SnapshotPtr from_callbacks(py::object read, py::object regions, py::object threads, py::object lookup_symbol,
                           py::object local_file, int pid, const std::string& source_root, bool sources) {
    if (!PyCallable_Check(read.ptr()))
        throw Error(ErrorKind::Usage, "read must be callable: read(address, size) -> bytes");
    TargetCallbacks callbacks;
    callbacks.read = [read](uint64_t address, std::span<uint8_t> out) {
        return read_once(read, address, out.data(), out.size());
    };
    if (!regions.is_none()) callbacks.regions = [regions] { return regions_from(regions); };
    if (!threads.is_none()) callbacks.threads = [threads] { return threads_from(threads); };
    callbacks.lookup_symbol = symbols_from(lookup_symbol);
    if (!local_file.is_none()) {
        callbacks.local_file = [local_file](const std::string& mapped) -> std::optional<std::string> {
            try {
                py::object path = local_file(mapped);
                if (!path.is_none()) return path.cast<std::string>();
            } catch (py::error_already_set& e) {
                rethrow_interrupt(e);
            } catch (const py::cast_error&) {}
            return std::nullopt;
        };
    }
    callbacks.pid = pid;
    callbacks.source_root = source_root;
    CallbackTarget target(std::move(callbacks));
    auto snap = std::make_shared<Snapshot>(take_snapshot(target));
    if (sources) {
        SourceFiles files(source_root);
        add_source_lines(*snap, files);
    }
    return snap;
}

// The debugger's process, read the fastest way its kind allows (read_debugger_snapshot). The
// callbacks are Python and run with the GIL held; threads(with_registers) -> [(number, tid,
// handle or None[, orig_rax or None, rdi or None])].
SnapshotPtr from_debugger(const std::string& kind, int pid, py::object threads, py::object read, py::object regions,
                          py::object lookup_symbol, const std::string& core_path, const std::string& executable,
                          const std::vector<std::string>& lib_search_path, const std::string& memory, bool sources,
                          const std::vector<uint64_t>& objects, bool locals, bool tasks, bool locks) {
    if (!PyCallable_Check(read.ptr()))
        throw Error(ErrorKind::Usage, "read must be callable: read(address, size) -> bytes");
    if (memory != "auto" && memory != "debugger")
        throw Error(ErrorKind::Usage, "memory must be \"auto\" or \"debugger\"");
    DebuggerProcess process;
    process.kind = kind == "native" ? DebuggerTargetKind::LocalLive
                   : kind == "core" ? DebuggerTargetKind::Core
                                    : DebuggerTargetKind::Other;
    process.pid = pid;
    if (!threads.is_none()) {
        process.threads = [threads](bool with_registers) {
            std::vector<DebuggerThread> out;
            for (const py::handle item : threads(with_registers)) out.push_back(debugger_thread_from(item));
            return out;
        };
    }
    process.core_path = core_path;
    process.core_options = CoreFileOptions{executable, lib_search_path};
    process.callbacks.read = [read](uint64_t address, std::span<uint8_t> out) {
        return read_once(read, address, out.data(), out.size());
    };
    if (!regions.is_none()) process.callbacks.regions = [regions] { return regions_from(regions); };
    process.lookup_symbol = symbols_from(lookup_symbol);
    return std::make_shared<Snapshot>(
        read_debugger_snapshot(process, memory == "debugger" ? MemoryPath::Debugger : MemoryPath::Auto, sources,
                               objects, locals, tasks, locks));
}

// ---- rendering ------------------------------------------------------------------------

// A debugger's native frame: (symbol or None, stack_low, stack_high), its stack being
// [sp, the caller's sp); 0, 0 when unknown. A NativeFrame made of it views its symbol.
using NativeTuple = std::tuple<std::optional<std::string>, uint64_t, uint64_t>;

NativeFrame native_frame(const NativeTuple& native) {
    const auto& [symbol, low, high] = native;
    return NativeFrame{symbol ? std::string_view(*symbol) : std::string_view(), low, high};
}

std::optional<std::vector<std::optional<size_t>>> place_calls(const Thread& thread,
                                                              const std::vector<NativeTuple>& natives) {
    std::vector<NativeFrame> frames;
    for (const NativeTuple& native : natives) frames.push_back(native_frame(native));
    return place_eval_calls(frames, thread.stack);
}

std::string tree_with_natives(const Thread& thread, const std::vector<std::pair<std::string, NativeTuple>>& natives,
                              const TreeOptions& options) {
    std::vector<NativeLine> lines;
    for (const auto& [description, native] : natives) lines.push_back({description, native_frame(native)});
    return format_stack_with_natives(thread.stack, lines, {options, "gdb"});
}

std::vector<std::vector<size_t>> eval_call_indices(const Thread& thread) {
    std::vector<std::vector<size_t>> out;
    const Frame* first = thread.stack.frames.data();
    for (const auto& call : frames_by_eval_call(thread.stack)) {
        std::vector<size_t> indices;
        for (const Frame* f : call) indices.push_back(static_cast<size_t>(f - first));
        out.push_back(std::move(indices));
    }
    return out;
}

std::string snapshot_json(const Snapshot& snap, int indent, const std::optional<std::vector<size_t>>& only,
                          bool native_all) {
    if (!only) return format_snapshot_json(snap, indent, native_all);
    // Everything but the process (gdb's JSON leaves it out) and the threads not asked for.
    Snapshot subset = snap;
    subset.process.reset();
    subset.threads.clear();
    for (size_t index : *only) {
        if (index < snap.threads.size()) subset.threads.push_back(snap.threads[index]);
    }
    return format_snapshot_json(subset, indent, native_all);
}

// A debugger's header for a thread: `Thread 2 (LWP 4321) "worker" (holds the GIL):`.
std::string debugger_header(const Thread& t) {
    std::string out = "Thread " + (t.debugger_thread ? std::to_string(*t.debugger_thread) : std::string("?")) + " (";
    if (t.tid) out += "LWP " + std::to_string(*t.tid);
    else if (t.pthread_id) out += "pthread " + hex(*t.pthread_id);
    else out += "no thread id";
    return out + ")" + format_thread_details(t) + ":";
}

// Sets each thread's debugger_thread from the debugger's threads [(number, lwp, pthread_id or
// None)]: by kernel thread id, else by pthread_t (number_threads).
void map_debugger_threads(Snapshot& snap, const std::vector<std::tuple<int, int, std::optional<uint64_t>>>& threads) {
    std::vector<DebuggerThread> listed;
    for (const auto& [number, lwp, pthread_id] : threads) listed.push_back(DebuggerThread{number, lwp, pthread_id});
    number_threads(snap, listed);
}

// A debugger's frames (newest first) as (symbol or None, stack_pointer or None) -> the
// NativeTuples place_eval_calls and tree(native=...) take (native_stacks).
std::vector<NativeTuple> natives_from(
    const std::vector<std::pair<std::optional<std::string>, std::optional<uint64_t>>>& frames) {
    std::vector<std::optional<uint64_t>> sps;
    for (const auto& frame : frames) sps.push_back(frame.second);
    const std::vector<std::pair<uint64_t, uint64_t>> stacks = native_stacks(sps);
    std::vector<NativeTuple> out;
    for (size_t i = 0; i < frames.size(); ++i) out.emplace_back(frames[i].first, stacks[i].first, stacks[i].second);
    return out;
}

// Elements of a vector owned by `parent`, as Python objects that keep `parent` alive.
template <typename T>
py::list references(std::vector<T>& items, py::handle parent) {
    py::list out;
    for (T& item : items) out.append(py::cast(&item, py::return_value_policy::reference_internal, parent));
    return out;
}

}  // namespace

PYBIND11_MODULE(stackscope_core, m) {
    m.doc() =
        "stackscope's core: Python stacks of a live process, a core file or a debugger's memory, read from outside.";
    register_errors(m);
    register_options(m);
    py::tuple register_names(kDwarfRegisterNames.size());
    for (size_t i = 0; i < kDwarfRegisterNames.size(); ++i) register_names[i] = py::str(kDwarfRegisterNames[i]);
    m.attr("DWARF_REGISTER_NAMES") = register_names;
    m.def("needs_registers", &needs_registers, py::arg("orig_rax"),
          "Whether a thread with this orig_rax must also have DWARF_REGISTER_NAMES read (in restart_syscall, "
          "the call it resumes is named from them)");

    py::class_<NativeStackFrame>(m, "NativeFrame", "One native frame (read with native=True).")
        .def_readonly("pc", &NativeStackFrame::pc)
        .def_readonly("symbol", &NativeStackFrame::symbol, "its function as gdb names it; \"\" when unknown")
        .def_readonly("offset", &NativeStackFrame::offset)
        .def_readonly("library", &NativeStackFrame::library, "the file mapped at pc, as the process names it")
        .def_readonly("filename", &NativeStackFrame::filename)
        .def_readonly("line", &NativeStackFrame::line)
        .def_readonly("inlined", &NativeStackFrame::inlined)
        .def_readonly("interpreter", &NativeStackFrame::interpreter, "in the file that holds the interpreter")
        .def("__repr__", [](const NativeStackFrame& f) { return "<NativeFrame " + native_frame_text(f) + ">"; });

    py::class_<Frame>(m, "Frame", "One Python frame.")
        .def_readonly("function", &Frame::function, "qualified display name")
        .def_readonly("name", &Frame::name, "co_name")
        .def_readonly("module", &Frame::module)
        .def_readonly("filename", &Frame::filename)
        .def_readonly("line", &Frame::line)
        .def_readonly("source", &Frame::source, "the stripped source line, or None")
        .def_readonly("hidden", &Frame::hidden)
        .def_readonly("entry", &Frame::entry, "first Python frame of a C-level eval-loop call")
        .def_readonly("address", &Frame::address, "the frame struct in the target")
        .def_readonly("eval_stack_address", &Frame::eval_stack_address,
                      "entry frames: an address in the C stack frame of the eval-loop call running them, 0 if unknown")
        .def_property_readonly(
            "locals",
            [](const Frame& f) {
                std::optional<std::vector<std::tuple<std::string, std::string, std::string>>> out;
                if (!f.locals) return out;
                out.emplace();
                for (const Local& local : *f.locals)
                    out->emplace_back(local.name, local_kind_name(local.kind), local.repr);
                return out;
            },
            "[(name, kind, repr)] of the bound variables (kind: arg, local, cell or free) when read with "
            "locals=True, else None")
        .def("__repr__", [](const Frame& f) {
            return "<Frame " + f.function + " at " + f.filename + ":" + (f.line ? std::to_string(*f.line) : "?") + ">";
        });

    py::class_<Thread>(m, "Thread", "One Python thread and its stack.")
        .def_readonly("tid", &Thread::tid, "kernel thread id (LWP)")
        .def_readonly("pthread_id", &Thread::pthread_id)
        .def_readonly("name", &Thread::name)
        .def_readonly("holds_gil", &Thread::holds_gil)
        .def_readonly("interpreter_id", &Thread::interpreter_id)
        .def_readonly("thread_state", &Thread::thread_state)
        .def_property_readonly(
            "activity", [](const Thread& t) { return activity_name(t.activity); },
            "running, idle (in `syscall`), waiting_for_gil, or None when unknown (as in JSON)")
        .def_readonly("syscall", &Thread::syscall)
        .def_readonly("in_gc", &Thread::in_gc)
        .def_readonly("finalizing", &Thread::finalizing)
        .def_property_readonly(
            "handling",
            [](const Thread& t) -> std::optional<std::pair<std::string, std::optional<std::string>>> {
                if (!t.handling) return std::nullopt;
                return std::make_pair(t.handling->type, t.handling->message);
            },
            "(type, message or None) of the exception the thread handles, or None")
        .def_readwrite("debugger_thread", &Thread::debugger_thread, "the debugger's thread number (emitted in JSON)")
        .def_property_readonly(
            "error",
            [](const Thread& t) { return t.stack.error ? std::optional(t.stack.error->message) : std::nullopt; })
        .def_property_readonly(
            "frames", [](py::object self) { return references(self.cast<Thread&>().stack.frames, self); },
            "outermost first")
        .def_property_readonly(
            "native",
            [](py::object self) -> py::object {
                Thread& t = self.cast<Thread&>();
                return t.native ? py::object(references(*t.native, self)) : py::none();
            },
            "read with native=True: its native frames (NativeFrame), newest first; else None")
        .def_readonly("native_error", &Thread::native_error, "why its native frames are missing or end early")
        .def("header", &format_thread_header)
        .def(
            "debugger_header", [](const Thread& t, bool color) { return styled_header(debugger_header(t), color); },
            py::arg("color") = false, "`Thread N (LWP tid)` + details, N being debugger_thread")
        .def("details", &format_thread_details, "what follows the thread's id in a header")
        .def(
            "tree",
            [](const Thread& t, bool ascii, bool show_hidden,
               const std::optional<std::vector<std::pair<std::string, NativeTuple>>>& native, bool color) {
                const TreeOptions options{ascii, show_hidden, color};
                return native ? tree_with_natives(t, *native, options) : format_stack_tree(t.stack, options);
            },
            py::arg("ascii") = false, py::arg("show_hidden") = false, py::arg("native") = py::none(),
            py::arg("color") = false,
            "The stack as a tree; `native`, the debugger's frames newest first as (description, (symbol or None, "
            "stack_low, stack_high)), interleaves them where place_eval_calls places the Python frames.")
        .def(
            "flat",
            [](const Thread& t, bool show_hidden, bool color) {
                return format_stack_flat(t.stack, {show_hidden, color});
            },
            py::arg("show_hidden") = false, py::arg("color") = false)
        .def("eval_calls", &eval_call_indices,
             "Indices of frames grouped by the eval-loop call running them: newest call first, newest frame first.")
        .def("place_eval_calls", &place_calls, py::arg("natives"),
             "natives: the debugger's frames, newest first, as (symbol or None, stack_low, stack_high) ([sp, caller's "
             "sp); "
             "0, 0 when unknown). For each, the index into eval_calls() of the call it runs, or None; None when the "
             "calls "
             "cannot be placed.");

    py::class_<ObjectStack>(m, "ObjectStack", "An object asked for by address, and its stack (--object).")
        .def_readonly("address", &ObjectStack::address, "as asked")
        .def_readonly("type", &ObjectStack::type, "type(obj).__name__, or None when it is not a readable object")
        .def_property_readonly(
            "description", [](const ObjectStack& o) { return o.stack.root.description; },
            "how it is shown: <coroutine object coro_a at 0x...>")
        .def_property_readonly(
            "error",
            [](const ObjectStack& o) { return o.stack.error ? std::optional(o.stack.error->message) : std::nullopt; })
        .def_property_readonly(
            "frames", [](py::object self) { return references(self.cast<ObjectStack&>().stack.frames, self); },
            "outermost first")
        .def(
            "tree",
            [](const ObjectStack& o, bool ascii, bool show_hidden, bool color) {
                return format_stack_tree(o.stack, TreeOptions{ascii, show_hidden, color});
            },
            py::arg("ascii") = false, py::arg("show_hidden") = false, py::arg("color") = false,
            "upstream's `stackscope.Stack of <obj>` tree, ending with the leaf it awaits")
        .def(
            "flat",
            [](const ObjectStack& o, bool show_hidden, bool color) {
                return format_stack_flat(o.stack, {show_hidden, color});
            },
            py::arg("show_hidden") = false, py::arg("color") = false);

    py::class_<Snapshot, SnapshotPtr>(m, "Snapshot", "One extraction of every Python thread.")
        .def_readonly("python_version", &Snapshot::python_version)
        .def_readonly("pid", &Snapshot::pid)
        .def_property_readonly("threads",
                               [](py::object self) { return references(self.cast<Snapshot&>().threads, self); })
        .def_property_readonly(
            "objects", [](py::object self) { return references(self.cast<Snapshot&>().objects, self); },
            "the objects asked for (from_debugger's objects), in order")
        .def_readonly("objects_asked", &Snapshot::objects_asked, "whether objects were asked for instead of threads")
        .def_readonly("tasks_asked", &Snapshot::tasks_asked, "whether the asyncio tasks were read (tasks=True)")
        .def_property_readonly(
            "task_count", [](const Snapshot& s) { return s.tasks.size(); }, "how many asyncio tasks were read")
        .def_readonly("locks_asked", &Snapshot::locks_asked, "whether the locks were read (locks=True)")
        .def_property_readonly(
            "deadlock_count", [](const Snapshot& s) { return s.deadlocks.size(); }, "how many deadlocks were found")
        .def_property_readonly("partial", &Snapshot::partial)
        .def(
            "debugger_header",
            [](const Snapshot& s, size_t index, bool color) {
                if (index >= s.threads.size()) throw py::index_error("no such thread");
                const Thread& t = s.threads[index];
                return styled_header(with_running_task(debugger_header(t), s, t), color);
            },
            py::arg("index"), py::arg("color") = false,
            "Thread.debugger_header of threads[index], naming the task its loop runs as the CLI's header does")
        .def(
            "debugger_text",
            [](const Snapshot& s, const std::vector<std::string>& blocks, bool flat, bool ascii, bool show_hidden,
               bool color) {
                return compose_debugger_text(s, blocks, flat, TreeOptions{ascii, show_hidden, color});
            },
            py::arg("blocks"), py::arg("flat") = false, py::arg("ascii") = false, py::arg("show_hidden") = false,
            py::arg("color") = false,
            "The command's text, as lldb's: the blocks (objects', then threads' header and stack) joined by blank "
            "lines, then the tasks' and locks' text the snapshot was read with")
        .def("debugger_warnings", &debugger_warnings, py::arg("shown") = py::none(),
             "What the command warns about where the CLI exits 1, as lldb's: no threads, or a partial read (of the "
             "objects, else of the threads `shown` (indices; None: all) and the tasks)")
        .def("threads_numbered", &threads_numbered, py::arg("number"),
             "Indices of the threads whose debugger_thread is `number`.")
        .def("map_debugger_threads", &map_debugger_threads, py::arg("threads"),
             "Set debugger_thread from [(number, lwp, pthread_id or None)]: by LWP, else by pthread_t.")
        .def(
            "without_contexts", [](const Snapshot& s) { return std::make_shared<Snapshot>(without_contexts(s)); },
            "a copy without the frames' with-blocks (-no-contexts)")
        .def(
            "without_locals", [](const Snapshot& s) { return std::make_shared<Snapshot>(without_locals(s)); },
            "a copy without the frames' variables (a snapshot read with locals=True, shown without -locals)")
        .def(
            "without_tasks", [](const Snapshot& s) { return std::make_shared<Snapshot>(without_tasks(s)); },
            "a copy as if read without tasks (a snapshot read with tasks=True, shown by a command that did not ask)")
        .def(
            "tasks_tree",
            [](const Snapshot& s, bool ascii, bool show_hidden, bool color) {
                return format_debugger_tasks_tree(s, TreeOptions{ascii, show_hidden, color});
            },
            py::arg("ascii") = false, py::arg("show_hidden") = false, py::arg("color") = false,
            "What the CLI's --tasks prints after the threads (each event loop's task trees), as a tree")
        .def(
            "without_locks", [](const Snapshot& s) { return std::make_shared<Snapshot>(without_locks(s)); },
            "a copy as if read without locks (a snapshot read with locks=True, shown by a command that did not ask)")
        .def(
            "locks_text", [](const Snapshot& s, bool color) { return format_debugger_locks(s, color); },
            py::arg("color") = false,
            "What the CLI's --locks prints after the threads (deadlocks, each lock's holders and waiters)")
        .def(
            "tasks_flat",
            [](const Snapshot& s, bool show_hidden, bool color) {
                return format_debugger_tasks_flat(s, FlatOptions{show_hidden, color});
            },
            py::arg("show_hidden") = false, py::arg("color") = false,
            "What the CLI's --tasks --flat prints after the threads")
        .def("json", &snapshot_json, py::arg("indent") = 2, py::arg("threads") = py::none(),
             py::arg("native_all") = false,
             "JSON per docs/schema-v1.json; `threads` selects threads by index. Native frames (read with "
             "native=True) as --native shows them, or every one with native_all.")
        .def(
            "tree",
            [](const Snapshot& s, bool ascii, bool show_hidden, bool color, bool native_all) {
                const TreeOptions options{ascii, show_hidden, color};
                const bool native = std::any_of(s.threads.begin(), s.threads.end(),
                                                [](const Thread& t) { return t.native.has_value(); });
                return native ? format_snapshot_tree_with_natives(s, options, native_all)
                              : format_snapshot_tree(s, options);
            },
            py::arg("ascii") = false, py::arg("show_hidden") = false, py::arg("color") = false,
            py::arg("native_all") = false,
            "The CLI's tree; with native frames (read with native=True) as --native shows them, or as "
            "--native-all with native_all.")
        .def(
            "flat",
            [](const Snapshot& s, bool show_hidden, bool color) {
                return format_snapshot_flat(s, {show_hidden, color});
            },
            py::arg("show_hidden") = false, py::arg("color") = false);

    m.def("from_pid", &from_pid, py::arg("pid"), py::arg("stop_threads") = true, py::arg("threads") = py::none(),
          py::arg("sources") = true, py::arg("native") = false,
          "Read a live process. stop_threads=False for a process stopped by its tracer (a debugger), which may also "
          "pass `threads`, [(tid, pthread_id or None)], to name the threads. native=True also unwinds each "
          "thread's native frames (Thread.native) and lists the threads without a Python thread state (needs "
          "stop_threads=True).");
    m.def("from_core", &from_core, py::arg("path"), py::arg("executable") = "",
          py::arg("lib_search_path") = std::vector<std::string>{}, py::arg("sources") = true, py::arg("native") = false,
          "Read a core file; native=True also unwinds each thread's native frames (Thread.native).");
    m.def("from_callbacks", &from_callbacks, py::arg("read"), py::arg("regions") = py::none(),
          py::arg("threads") = py::none(), py::arg("lookup_symbol") = py::none(), py::arg("local_file") = py::none(),
          py::arg("pid") = 0, py::arg("source_root") = "", py::arg("sources") = true,
          "Read through callbacks: read(address, size) -> bytes (short or raising where unreadable); regions: "
          "[(start, end, file_offset, path[, perms])]; threads: [(tid, pthread_id or None[, orig_rax or None, rdi])] "
          "(each a list or a "
          "callable returning one); lookup_symbol(name) -> address or None; local_file(mapped_path) -> path or None.");
    m.def(
        "from_debugger", &from_debugger, py::arg("kind"), py::arg("pid"), py::arg("threads"), py::arg("read"),
        py::arg("regions") = py::none(), py::arg("lookup_symbol") = py::none(), py::arg("core_path") = "",
        py::arg("executable") = "", py::arg("lib_search_path") = std::vector<std::string>{}, py::arg("memory") = "auto",
        py::arg("sources") = true, py::arg("objects") = std::vector<uint64_t>{}, py::arg("locals") = false,
        py::arg("tasks") = false, py::arg("locks") = false,
        "Read the process a debugger debugs, the fastest way `kind` allows (\"native\": a live process here, read "
        "directly; \"core\": core_path, read as a core file; else, or with memory=\"debugger\", through read, "
        "regions and the threads' registers). threads(with_registers) -> [(number, tid, handle or None[, orig_rax, "
        "rdi])]; "
        "lookup_symbol(name) -> address or None is asked after the target's own symbols. Each thread's debugger_thread "
        "is set: by tid, else by pthread_t. "
        "With `objects` (addresses), the stacks of those objects (Snapshot.objects) instead of the threads; with "
        "`tasks`, every asyncio task too (Snapshot.tasks_tree, .json); with `locks`, who holds and waits for each "
        "lock (Snapshot.locks_text, .json).");
    m.def(
        "pthread_from_handle",
        [](const py::bytes& handle) {
            const std::string bytes = handle;
            return pthread_from_handle(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
        },
        py::arg("handle"), "A debugger's thread handle (the pthread_t's bytes) as a pthread_t, or None.");
    m.def(
        "kernel_view",
        [](const py::int_& orig_rax, const py::int_& rdi) {
            const KernelView view = kernel_view_from_registers(register_value(orig_rax), register_value(rdi));
            return std::make_pair(view.syscall, view.syscall_arg0);
        },
        py::arg("orig_rax"), py::arg("rdi"),
        "(syscall, arg0) from a stopped thread's registers: the system call it is in (-1: none) and its first "
        "argument.");
    m.def("native_frames", &natives_from, py::arg("frames"),
          "[(symbol or None, stack_pointer or None)], newest first -> [(symbol, stack_low, stack_high)] as "
          "place_eval_calls "
          "takes them: a frame's stack is [its sp, its caller's sp); 0, 0 when unknown.");
    m.def(
        "classify_native_function",
        [](const std::string& symbol) {
            switch (classify_native_function(symbol)) {
                case NativeFrameRole::EvalLoopEntry: return "entry";
                case NativeFrameRole::EvalLoopInternal: return "internal";
                case NativeFrameRole::Other: break;
            }
            return "other";
        },
        py::arg("symbol"), "The role of a native function in running Python frames: entry, internal or other.");
    m.def("is_python_file", &is_python_file, py::arg("path"),
          "Whether a mapped file may hold the Python runtime (the interpreter or libpython), as the core decides.");
}
