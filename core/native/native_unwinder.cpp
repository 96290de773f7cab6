#include "native/native_unwinder.hpp"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "native/frame_stacks.hpp"
#include "native/debug_files.hpp"
#include "native/native_symbols.hpp"
#include "stackscope/error.hpp"
#include "target/syscall_names.hpp"

namespace stackscope {

namespace {

// What libdwfl needs to choose its x86-64 backend: an ELF header, nothing more (the modules'
// own files are opened only where a stack needs them).
std::array<char, sizeof(Elf64_Ehdr)> x86_64_elf_header() {
    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_CORE;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    std::array<char, sizeof(Elf64_Ehdr)> out{};
    std::memcpy(out.data(), &header, sizeof(header));
    return out;
}

std::string dwfl_error() {
    const char* message = dwfl_errmsg(-1);
    return message ? message : "unknown libdwfl error";
}

// The system-call wrappers glibc runs a blocking call through (2.41+ puts every cancellable call
// behind them); the function a thread is "in" is their caller.
bool is_syscall_helper(std::string_view name) {
    return name == "syscall_cancel_arch" || name == "internal_syscall_cancel" || name == "syscall_cancel" ||
           name == "syscall" || name.starts_with("syscall_cancel_arch_");
}

// glibc's timed waits (its locks, semaphores, condition variables) are FUTEX_WAIT_BITSET calls
// matching any bit; the registers the call was made with are those it is resumed with. Their
// frames may be unnamed in a stripped libc, or tail calls that are not on the stack.
bool is_glibc_futex_wait(const std::array<uint64_t, kDwarfRegisterCount>& registers) {
    constexpr uint64_t kFutexCommandMask = 0x7f;  // without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME
    constexpr uint64_t kFutexWaitBitset = 9;
    constexpr uint64_t kBitsetMatchAny = 0xffffffff;
    return (registers[kDwarfRsi] & kFutexCommandMask) == kFutexWaitBitset &&
           (registers[kDwarfR9] & 0xffffffff) == kBitsetMatchAny;
}

std::string without_libc_prefixes(std::string_view name) {
    if (name.starts_with("__GI_")) name.remove_prefix(5);
    if (name.starts_with("__libc_")) name.remove_prefix(7);
    while (name.starts_with("_")) name.remove_prefix(1);
    return std::string(name);
}

}  // namespace

struct DwflSession {
    RemoteMemory& memory;
    std::string interpreter_file;
    std::array<char, sizeof(Elf64_Ehdr)> elf_header = x86_64_elf_header();
    Elf* backend_elf = nullptr;
    Dwfl* dwfl = nullptr;
    std::optional<std::string> setup_error;       // why no stack can be unwound
    std::map<std::string, std::string> unopened;  // mapped path -> why it could not be opened
    const TargetThread* current = nullptr;        // the thread dwfl_getthread_frames asks for
    // Threads share most of their frames (the same eval loop, the same waits): each distinct
    // frame is symbolised once.
    std::map<std::pair<uint64_t, bool>, std::vector<NativeStackFrame>> symbolized;
    char* debuginfo_path = nullptr;  // libdwfl's default search path for separate debug files
    Dwfl_Callbacks callbacks{};
    InflatedDebugFiles debug_files;  // libc's and the interpreter's inflated ahead

    DwflSession(RemoteMemory& m, std::string interpreter) : memory(m), interpreter_file(std::move(interpreter)) {}

    ~DwflSession() {
        if (dwfl) dwfl_end(dwfl);
        if (backend_elf) elf_end(backend_elf);
    }

    void start();
    void report_modules();
    std::vector<PhysicalFrame> physical_frames(const TargetThread& thread, size_t limit, std::string& error);
};

namespace {

int find_elf(Dwfl_Module*, void** userdata, const char* name, Dwarf_Addr, char** file_name, Elf**) {
    auto* session = static_cast<DwflSession*>(*userdata);
    const std::string mapped = name ? name : "";
    try {
        const std::optional<std::string> local = session->memory.target().local_file(mapped);
        if (!local) {
            session->unopened.emplace(mapped, "not found");
            return -1;
        }
        // Non-blocking: a FIFO of that name must not wait for a writer (it is refused below).
        const int fd = ::open(local->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            session->unopened.emplace(mapped, std::strerror(errno));
            return -1;
        }
        struct stat st {};
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            session->unopened.emplace(mapped, "not a regular file");
            return -1;
        }
        *file_name = ::strdup(local->c_str());
        return fd;
    } catch (const std::exception& e) {  // another build's file (CoreFile checks build ids)
        session->unopened.emplace(mapped, e.what());
        return -1;
    }
}

std::span<const uint8_t> module_build_id(Dwfl_Module* module) {
    const unsigned char* id = nullptr;
    GElf_Addr id_address = 0;
    const int size = dwfl_module_build_id(module, &id, &id_address);
    return size > 0 ? std::span<const uint8_t>(id, static_cast<size_t>(size)) : std::span<const uint8_t>();
}

// The debug file named by the module's build id, with its compressed sections inflated (ahead
// for libc and the interpreter); else libdwfl's own search (.gnu_debuglink too), which then
// inflates what the file compresses itself.
int find_debuginfo(Dwfl_Module* module, void** userdata, const char* name, Dwarf_Addr base, const char* file_name,
                   const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name) {
    const std::span<const uint8_t> id = module_build_id(module);
    if (userdata && *userdata && !id.empty()) {
        if (const std::optional<int> inflated = static_cast<DwflSession*>(*userdata)->debug_files.take(id)) {
            *debuginfo_file_name = ::strdup(build_id_debug_path(id).c_str());
            return *inflated;
        }
    }
    return dwfl_standard_find_debuginfo(module, userdata, name, base, file_name, debuglink_file, debuglink_crc,
                                        debuginfo_file_name);
}

pid_t next_thread(Dwfl*, void*, void**) { return 0; }  // threads are asked for one by one

bool get_thread(Dwfl*, pid_t tid, void* arg, void** thread_arg) {
    auto* session = static_cast<DwflSession*>(arg);
    if (!session->current || session->current->tid != tid) return false;
    *thread_arg = session;
    return true;
}

bool memory_read(Dwfl*, Dwarf_Addr address, Dwarf_Word* result, void* arg) {
    auto* session = static_cast<DwflSession*>(arg);
    try {
        uint64_t value = 0;
        if (session->memory.read_some(address, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(value))) !=
            sizeof(value))
            return false;
        *result = value;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
    const auto* session = static_cast<DwflSession*>(arg);
    const auto& registers = *session->current->registers;
    static_assert(sizeof(Dwarf_Word) == sizeof(uint64_t));
    if (!dwfl_thread_state_registers(thread, 0, kDwarfRegisterCount, registers.data())) return false;
    dwfl_thread_state_register_pc(thread, registers[kDwarfRip]);
    return true;
}

const Dwfl_Thread_Callbacks kThreadCallbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
    .detach = nullptr,
    .thread_detach = nullptr,
};

struct FrameCollector {
    std::vector<PhysicalFrame>* frames;
    size_t limit;
};

int collect_frame(Dwfl_Frame* frame, void* arg) {
    auto* collector = static_cast<FrameCollector*>(arg);
    Dwarf_Addr pc = 0;
    bool activation = false;
    if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
    collector->frames->push_back({pc, activation});
    return collector->frames->size() >= collector->limit ? DWARF_CB_ABORT : DWARF_CB_OK;
}

}  // namespace

void DwflSession::start() {
    callbacks.find_elf = find_elf;
    callbacks.find_debuginfo = find_debuginfo;
    callbacks.section_address = dwfl_offline_section_address;
    callbacks.debuginfo_path = &debuginfo_path;
    dwfl = dwfl_begin(&callbacks);
    if (!dwfl) {
        setup_error = "libdwfl: " + dwfl_error();
        return;
    }
    report_modules();
    backend_elf = elf_memory(elf_header.data(), elf_header.size());
    if (!backend_elf || !dwfl_attach_state(dwfl, backend_elf, memory.target().pid(), &kThreadCallbacks, this))
        setup_error = "libdwfl cannot unwind this target: " + dwfl_error();
}

// Each file the target maps, as one module from its first mapping to its last (what libdwfl
// itself reports from /proc/PID/maps); its ELF is opened only once a stack needs it. Every
// thread's outermost frames are the C library's and every Python thread's are the
// interpreter's: their debug files are inflated ahead, while the Python frames are read.
void DwflSession::report_modules() {
    dwfl_report_begin(dwfl);
    std::vector<Dwfl_Module*> ahead;
    const std::vector<MemoryRegion>& regions = memory.target().regions();
    for (size_t i = 0; i < regions.size();) {
        const MemoryRegion& first = regions[i];
        size_t next = i + 1;
        uint64_t end = first.end;
        while (next < regions.size() && regions[next].path == first.path && regions[next].start >= end) {
            end = regions[next].end;
            ++next;
        }
        if (!first.path.empty() && first.path[0] == '/' && first.file_offset == 0) {
            if (Dwfl_Module* module = dwfl_report_module(dwfl, first.path.c_str(), first.start, end)) {
                void** userdata = nullptr;
                dwfl_module_info(module, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
                if (userdata) *userdata = this;
                const std::string_view file = std::string_view(first.path).substr(first.path.rfind('/') + 1);
                if (first.path == interpreter_file || file.starts_with("libc.so.")) ahead.push_back(module);
            }
        }
        i = next;
    }
    dwfl_report_end(dwfl, nullptr, nullptr);
    for (Dwfl_Module* module : ahead) {
        Dwarf_Addr bias = 0;
        if (dwfl_module_getelf(module, &bias)) debug_files.inflate_ahead(module_build_id(module));
    }
}

std::vector<PhysicalFrame> DwflSession::physical_frames(const TargetThread& thread, size_t limit, std::string& error) {
    std::vector<PhysicalFrame> frames;
    if (setup_error) {
        error = *setup_error;
        return frames;
    }
    if (!thread.registers) {
        error = "no registers: the thread was not stopped";
        return frames;
    }
    current = &thread;
    FrameCollector collector{&frames, limit};
    const int rc = dwfl_getthread_frames(dwfl, thread.tid, collect_frame, &collector);
    current = nullptr;
    if (rc == -1 && frames.size() < limit) {
        error = "unwinding stopped: " + dwfl_error();
    } else if (frames.size() >= limit) {
        error = "more than " + std::to_string(limit) + " native frames: the rest are left out";
    }
    return frames;
}

NativeUnwinder::NativeUnwinder(RemoteMemory& memory, std::string interpreter_file, bool interpreter_in_full)
    : session_(std::make_unique<DwflSession>(memory, std::move(interpreter_file))),
      interpreter_in_full_(interpreter_in_full) {
    session_->start();
}

NativeUnwinder::~NativeUnwinder() = default;

NativeStack NativeUnwinder::unwind(const TargetThread& thread) {
    NativeStack out;
    std::string error;
    const std::vector<PhysicalFrame> frames = session_->physical_frames(thread, kMaxFrames, error);
    if (!error.empty()) out.error = error;
    if (frames.empty()) return out;
    const std::vector<StackRange> stacks = frame_stacks(session_->dwfl, session_->memory, *thread.registers, frames);
    for (size_t i = 0; i < frames.size(); ++i) {
        const auto key = std::make_pair(frames[i].pc, frames[i].activation);
        auto known = session_->symbolized.find(key);
        if (known == session_->symbolized.end()) {
            const bool in_full =
                interpreter_in_full_ || frame_file(session_->dwfl, frames[i]) != session_->interpreter_file;
            std::vector<NativeStackFrame> named = symbolize(session_->dwfl, frames[i], in_full);
            for (NativeStackFrame& f : named)
                f.interpreter = !f.library.empty() && f.library == session_->interpreter_file;
            known = session_->symbolized.emplace(key, std::move(named)).first;
        }
        std::vector<NativeStackFrame> symbolized = known->second;
        symbolized.back().stack_low = stacks[i].low;
        symbolized.back().stack_high = stacks[i].high;
        out.frames.insert(out.frames.end(), std::make_move_iterator(symbolized.begin()),
                          std::make_move_iterator(symbolized.end()));
    }
    if (!session_->unopened.empty()) {
        std::string missing;
        for (const auto& [path, why] : session_->unopened) {
            // Only the files this stack ran into.
            if (std::none_of(out.frames.begin(), out.frames.end(),
                             [&file = path](const NativeStackFrame& f) { return f.library == file; }))
                continue;
            missing += (missing.empty() ? "" : "; ") + path + ": " + why;
        }
        if (!missing.empty()) {
            const std::string note =
                "no symbols or unwind tables from files that could not be opened (" + missing + ")";
            out.error = out.error ? *out.error + "; " + note : note;
        }
    }
    return out;
}

std::optional<std::string> NativeUnwinder::blocking_function(const TargetThread& thread) {
    if (thread.registers && is_glibc_futex_wait(*thread.registers)) return "futex";
    // Deep enough for glibc 2.41+'s futex waits: three cancellation helpers, then the wait's own
    // internal functions, before an exported one.
    constexpr size_t kHelperDepth = 16;
    std::string error;
    const std::vector<PhysicalFrame> frames = session_->physical_frames(thread, kHelperDepth, error);
    if (frames.empty()) return std::nullopt;
    Dwfl_Module* first_module = dwfl_addrmodule(session_->dwfl, frames.front().lookup_pc());
    for (const PhysicalFrame& frame : frames) {
        // A stripped libc names only its exported functions: its unnamed frames are its
        // internal helpers, below the exported function that was called.
        if (dwfl_addrmodule(session_->dwfl, frame.lookup_pc()) != first_module) return std::nullopt;
        const std::optional<std::string> name = covering_symbol(session_->dwfl, frame);
        if (!name) continue;
        const std::string function = without_libc_prefixes(*name);
        // Only timed waits resume as restart_syscall: a futex wait (libc's futex functions,
        // under its locks, semaphores and condition variables), or a call libc's wrapper is
        // named after (poll, nanosleep, clock_nanosleep).
        if (function.find("futex") != std::string::npos) return "futex";
        if (!is_syscall_helper(function) && is_syscall_name(function)) return function;
    }
    return std::nullopt;
}

}  // namespace stackscope
