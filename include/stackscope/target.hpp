#pragma once
// The one interface every memory source implements: a live process, a core file,
// or (later) a debugger's callbacks. Everything above it reads through RemoteMemory.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/process_info.hpp"

namespace stackscope {

struct MemoryRegion {
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t file_offset = 0;
    std::string path;  // empty for anonymous mappings
    bool readable = true;
    bool writable = false;
    bool executable = false;

    bool contains(uint64_t address) const { return start <= address && address < end; }
};

struct TargetThread {
    int tid = 0;
    std::optional<uint64_t> pthread_id;  // fs_base on x86-64 glibc
    // What the kernel says the thread was doing when it was stopped or dumped: the system
    // call it is blocked in (orig_rax), -1 when it was running user code; nullopt when unknown.
    std::optional<int64_t> syscall = std::nullopt;
    uint64_t syscall_arg0 = 0;  // rdi: the call's first argument (a futex's address)
    // Its general registers, numbered as DWARF numbers them on x86-64 (kDwarfRegisterCount:
    // rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8-r15, rip), where native unwinding starts;
    // nullopt when the target has none (a thread that was not stopped).
    std::optional<std::array<uint64_t, 17>> registers = std::nullopt;
};

inline constexpr size_t kDwarfRegisterCount = 17;
// Their names, as gdb and LLDB name them, in DWARF's order: what the front-ends read.
inline constexpr std::array<std::string_view, kDwarfRegisterCount> kDwarfRegisterNames = {
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
    "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip"};
inline constexpr size_t kDwarfRsi = 4;
inline constexpr size_t kDwarfRbp = 6;
inline constexpr size_t kDwarfRsp = 7;
inline constexpr size_t kDwarfR9 = 9;
inline constexpr size_t kDwarfRip = 16;

class Target {
public:
    virtual ~Target() = default;

    // Copies up to out.size() bytes from `address`; returns how many were readable
    // from the start (a short count means the memory ends or is absent there).
    virtual size_t read(uint64_t address, std::span<uint8_t> out) = 0;
    // Whether read() may be called from two threads at once (a debugger's callbacks may not).
    virtual bool concurrent_reads() const { return false; }
    // Whether each read() costs far more than the bytes it copies (a debugger's callbacks): the
    // page cache then keeps many more pages rather than read any of them again.
    virtual bool costly_reads() const { return false; }

    virtual const std::vector<MemoryRegion>& regions() const = 0;
    virtual std::vector<TargetThread> threads() const = 0;
    virtual int pid() const = 0;

    // Where the file the target has mapped at `mapped_path` can be opened from here
    // (through /proc/PID/root, relocated by a search path, ...); nullopt when absent.
    virtual std::optional<std::string> local_file(const std::string& mapped_path) const = 0;

    // Address of a symbol, for targets that know symbols better than the mapped ELF files
    // (debuggers); the default asks the ELF files instead.
    virtual std::optional<uint64_t> lookup_symbol(std::string_view /*name*/) const { return std::nullopt; }

    // The id, as seen from here, of the thread the target itself calls `tid_in_target` (they
    // differ for a process in another PID namespace); unchanged when unknown.
    virtual int host_tid(int tid_in_target) const { return tid_in_target; }

    // What the target records about its process and what killed it (cores); nullopt when nothing.
    virtual std::optional<ProcessInfo> process_info() const { return std::nullopt; }

    // Prefix under which the target's source files are read ("/proc/PID/root" live, "" for cores).
    virtual std::string source_root() const { return {}; }
};

}  // namespace stackscope
