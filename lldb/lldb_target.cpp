#include "lldb_target.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loaded_core.hpp"

namespace stackscope_lldb {

namespace {

using namespace stackscope;

std::string path_of(const lldb::SBFileSpec& spec) {
    char buffer[4096];
    return spec.IsValid() && spec.GetPath(buffer, sizeof buffer) > 0 ? std::string(buffer) : std::string();
}

std::optional<uint64_t> find_symbol(lldb::SBTarget target, const std::string& name) {
    lldb::SBSymbolContextList found = target.FindSymbols(name.c_str());
    for (uint32_t i = 0; i < found.GetSize(); ++i) {
        const lldb::addr_t address = found.GetContextAtIndex(i).GetSymbol().GetStartAddress().GetLoadAddress(target);
        if (address != LLDB_INVALID_ADDRESS) return address;
    }
    return std::nullopt;
}

// Through the process (its memory, or what the core holds), else through the target: the
// modules' files, for the read-only pages a core made by gcore lacks. A read that fails as a
// whole is retried page by page by CallbackTarget.
size_t read_via_lldb(lldb::SBTarget target, lldb::SBProcess process, uint64_t address, std::span<uint8_t> out) {
    lldb::SBError error;
    const size_t got = process.ReadMemory(address, out.data(), out.size(), error);
    if (error.Success()) return std::min(got, out.size());
    lldb::SBError file_error;
    const size_t from_file = target.ReadMemory(target.ResolveLoadAddress(address), out.data(), out.size(), file_error);
    return file_error.Success() ? std::min(from_file, out.size()) : 0;
}

// The modules' loaded sections (for ELF files, their PT_LOAD segments) stand for the
// mappings: named by the target's path, as /proc/PID/maps and NT_FILE name them.
std::vector<MemoryRegion> module_regions(lldb::SBTarget target) {
    std::vector<MemoryRegion> out;
    for (uint32_t m = 0; m < target.GetNumModules(); ++m) {
        lldb::SBModule module = target.GetModuleAtIndex(m);
        std::string path = path_of(module.GetPlatformFileSpec());
        if (path.empty()) path = path_of(module.GetFileSpec());
        for (size_t s = 0; s < module.GetNumSections(); ++s) {
            lldb::SBSection section = module.GetSectionAtIndex(s);
            const lldb::addr_t start = section.GetLoadAddress(target);
            if (start == LLDB_INVALID_ADDRESS || section.GetByteSize() == 0) continue;
            const uint32_t permissions = section.GetPermissions();
            out.push_back({start, start + section.GetByteSize(), section.GetFileOffset(), path,
                           (permissions & lldb::ePermissionsReadable) != 0,
                           (permissions & lldb::ePermissionsWritable) != 0,
                           (permissions & lldb::ePermissionsExecutable) != 0});
        }
    }
    std::sort(out.begin(), out.end(), [](const MemoryRegion& a, const MemoryRegion& b) { return a.start < b.start; });
    return out;
}

// A thread's general registers in DWARF's numbering, as LLDB reads them for its newest frame;
// nullopt when one is missing (not x86-64).
std::optional<std::array<uint64_t, kDwarfRegisterCount>> lldb_registers(lldb::SBThread thread) {
    lldb::SBFrame newest = thread.GetFrameAtIndex(0);
    if (!newest.IsValid()) return std::nullopt;
    std::array<uint64_t, kDwarfRegisterCount> out{};
    for (size_t i = 0; i < kDwarfRegisterNames.size(); ++i) {
        // The names are literals: their views end in a NUL.
        lldb::SBValue value = newest.FindRegister(kDwarfRegisterNames[i].data());
        lldb::SBError error;
        const uint64_t v = value.IsValid() ? value.GetValueAsUnsigned(error, 0) : 0;
        if (!value.IsValid() || error.Fail()) return std::nullopt;
        out[i] = v;
    }
    return out;
}

// LLDB's threads by index id and tid, each with what `kernel` (the core's NT_PRSTATUS notes)
// says of the thread with its tid: its pthread_t (fs_base) and system call (orig_rax, rdi).
// LLDB 16 shows neither fs_base nor orig_rax; without `kernel` (a live or remote process) the
// core finds tids through glibc's struct pthread, and /proc (a process on this machine) says
// which system call each thread is in. `with_registers`: also each one's registers, which name
// the call a thread in restart_syscall resumes.
std::vector<DebuggerThread> lldb_threads(lldb::SBProcess process, const std::vector<TargetThread>& kernel,
                                         bool with_registers) {
    std::unordered_map<int, const TargetThread*> by_tid;
    for (const TargetThread& k : kernel) by_tid.emplace(k.tid, &k);
    std::vector<DebuggerThread> out;
    for (uint32_t i = 0; i < process.GetNumThreads(); ++i) {
        lldb::SBThread thread = process.GetThreadAtIndex(i);
        DebuggerThread d{static_cast<int>(thread.GetIndexID()), static_cast<int>(thread.GetThreadID()), std::nullopt};
        if (const auto k = by_tid.find(d.tid); k != by_tid.end()) {
            d.pthread_id = k->second->pthread_id;
            d.syscall = k->second->syscall;
            d.syscall_arg0 = k->second->syscall_arg0;
            d.registers = k->second->registers;
        }
        if (with_registers && !d.registers) d.registers = lldb_registers(thread);
        out.push_back(d);
    }
    return out;
}

}  // namespace

DebuggerProcess describe_process(lldb::SBTarget target, lldb::SBProcess process) {
    const char* plugin = process.GetPluginName();
    const char* platform = target.GetPlatform().GetName();
    // gdb-remote on the host platform is also a remote lldb-server (another host, another PID
    // namespace) or a replay: the core checks that the pid here is this process.
    const bool maybe_here =
        plugin && std::string_view(plugin) == "gdb-remote" && platform && std::string_view(platform) == "host";
    DebuggerProcess out;
    out.kind = maybe_here ? DebuggerTargetKind::MaybeLocalLive : DebuggerTargetKind::Other;
    out.pid = static_cast<int>(process.GetProcessID());
    out.executable = path_of(target.GetExecutable());
    // A core's own notes, when LLDB's module list names its file (else null: a live process).
    const std::shared_ptr<const CoreFile> core = open_loaded_core(target, process);
    out.threads = [process, core](bool with_registers) {
        return lldb_threads(process, core ? core->threads() : std::vector<TargetThread>{}, with_registers);
    };
    out.callbacks.read = [target, process](uint64_t address, std::span<uint8_t> bytes) {
        return read_via_lldb(target, process, address, bytes);
    };
    out.callbacks.regions = [target] { return module_regions(target); };
    out.callbacks.process_info = [core]() -> std::optional<ProcessInfo> {
        return core ? core->process_info() : std::nullopt;
    };
    out.lookup_symbol = [target](std::string_view name) { return find_symbol(target, std::string(name)); };
    return out;
}

}  // namespace stackscope_lldb
