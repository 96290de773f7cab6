#include "lldb_target.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "stackscope/callback_target.hpp"
#include "stackscope/error.hpp"
#include "stackscope/live_process.hpp"
#include "stackscope/debugger.hpp"

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
                           (permissions & lldb::ePermissionsReadable) != 0, (permissions & lldb::ePermissionsWritable) != 0,
                           (permissions & lldb::ePermissionsExecutable) != 0});
        }
    }
    std::sort(out.begin(), out.end(), [](const MemoryRegion& a, const MemoryRegion& b) { return a.start < b.start; });
    return out;
}

// What the kernel says each thread of a process on this machine is doing (/proc); LLDB's
// registers lack orig_rax, so a core read through LLDB leaves it unknown.
std::map<int, TargetThread> kernel_view(int pid) {
    std::map<int, TargetThread> out;
    try {
        for (const TargetThread& t : LiveProcess(pid, LiveProcess::Options{.stop_threads = false}).threads()) out[t.tid] = t;
    } catch (const Error&) {
    }
    return out;
}

std::unique_ptr<Target> callback_target(lldb::SBTarget target, lldb::SBProcess process, std::string source_root, bool live_here) {
    TargetCallbacks callbacks;
    callbacks.read = [target, process](uint64_t address, std::span<uint8_t> out) {
        return read_via_lldb(target, process, address, out);
    };
    callbacks.regions = [target] { return module_regions(target); };
    callbacks.threads = [process, live_here]() mutable {
        const auto kernel = live_here ? kernel_view(static_cast<int>(process.GetProcessID())) : std::map<int, TargetThread>{};
        std::vector<TargetThread> out;
        for (const auto& [tid, index] : lldb_thread_numbers(process)) {
            const auto known = kernel.find(tid);
            out.push_back(known != kernel.end() ? known->second : TargetThread{tid, std::nullopt});
        }
        return out;
    };
    callbacks.pid = static_cast<int>(process.GetProcessID());
    callbacks.source_root = std::move(source_root);
    return std::make_unique<CallbackTarget>(std::move(callbacks));
}

}  // namespace

std::unique_ptr<Target> open_target(lldb::SBTarget target, lldb::SBProcess process, bool via_lldb) {
    const char* plugin = process.GetPluginName();
    const char* platform = target.GetPlatform().GetName();
    const bool live_here = plugin && std::string_view(plugin) == "gdb-remote" && platform && std::string_view(platform) == "host";
    const int pid = static_cast<int>(process.GetProcessID());
    if (live_here && !via_lldb) {
        try {
            return std::make_unique<LiveProcess>(pid, LiveProcess::Options{.stop_threads = false});
        } catch (const Error&) {
            // e.g. /proc/PID/maps is not readable: LLDB's own reads still work
        }
    }
    return callback_target(target, process, live_here ? "/proc/" + std::to_string(pid) + "/root" : "", live_here);
}

std::unique_ptr<Target> with_lldb_symbols(Target& inner, lldb::SBTarget target) {
    TargetCallbacks callbacks;
    callbacks.read = [&inner](uint64_t address, std::span<uint8_t> out) { return inner.read(address, out); };
    callbacks.regions = [&inner] { return inner.regions(); };
    callbacks.threads = [&inner] { return inner.threads(); };
    callbacks.lookup_symbol = [target](std::string_view name) { return find_symbol(target, std::string(name)); };
    callbacks.local_file = [&inner](const std::string& path) { return inner.local_file(path); };
    callbacks.pid = inner.pid();
    callbacks.source_root = inner.source_root();
    return std::make_unique<CallbackTarget>(std::move(callbacks));
}

std::map<int, uint32_t> lldb_thread_numbers(lldb::SBProcess process) {
    std::map<int, uint32_t> out;
    for (uint32_t i = 0; i < process.GetNumThreads(); ++i) {
        lldb::SBThread thread = process.GetThreadAtIndex(i);
        out[static_cast<int>(thread.GetThreadID())] = thread.GetIndexID();
    }
    return out;
}

void fill_tids_from_glibc(Snapshot& snapshot, Target& target, lldb::SBTarget lldb_target,
                          const std::map<int, uint32_t>& known_tids) {
    // glibc's own description of struct pthread knows where the tid is; lldb knows its symbols.
    const std::unique_ptr<Target> with_symbols = with_lldb_symbols(target, lldb_target);
    std::set<int> live;
    for (const auto& [tid, number] : known_tids) live.insert(tid);
    fill_tids_from_pthreads(snapshot, *with_symbols, live);
}

}  // namespace stackscope_lldb
