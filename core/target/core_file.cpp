#include "stackscope/core_file.hpp"

#include "target/elf_file.hpp"

#include <elf.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "target/build_id.hpp"
#include "stackscope/error.hpp"
#include "target/mapped_elf.hpp"
#include "target/user_registers.hpp"

namespace stackscope {

namespace {

// struct elf_prstatus (x86-64): pr_info {si_signo, si_code, si_errno} at 0, pr_cursig at 12,
// pr_pid at 32, pr_reg (user_regs_struct) at 112.
// PT_LOADs and NT_FILE entries, each at most: a process has at most vm.max_map_count (65,530
// by default) mappings.
constexpr size_t kMaxMappings = size_t{1} << 20;

constexpr size_t kPrstatusSigno = 0;
constexpr size_t kPrstatusCode = 4;
constexpr size_t kPrstatusCursig = 12;
constexpr size_t kPrstatusPid = 32;
constexpr size_t kPrstatusRegs = 112;
constexpr size_t kPrstatusMinSize = kPrstatusRegs + kUserRegsCount * 8;
// struct elf_prpsinfo (x86-64): pr_uid at 16, pr_pid at 24, pr_ppid at 28, pr_psargs[80] at 56.
constexpr size_t kPrpsinfoUid = 16;
constexpr size_t kPrpsinfoPid = 24;
constexpr size_t kPrpsinfoParentPid = 28;
constexpr size_t kPrpsinfoArgs = 56;
constexpr size_t kPrpsinfoArgsSize = 80;
// siginfo_t: si_signo, si_errno, si_code, then at 16 si_addr (faults) or si_pid (kill, tgkill).
constexpr size_t kSiginfoCode = 8;
constexpr size_t kSiginfoUnion = 16;
constexpr uint32_t kNtSiginfo = 0x53494749;  // "SIGI"
constexpr size_t kMaxExecfn = 4096;

bool is_fault(int signal) { return signal == SIGSEGV || signal == SIGBUS || signal == SIGILL || signal == SIGFPE; }

// Only these signals make the kernel write a core. A debugger's core of a process it stopped
// with another one (gdb's generate-core-file after ^C: SIGINT) names no fatal signal.
bool dumps_core(int signal) {
    switch (signal) {
        case SIGQUIT:
        case SIGILL:
        case SIGTRAP:
        case SIGABRT:
        case SIGBUS:
        case SIGFPE:
        case SIGSEGV:
        case SIGXCPU:
        case SIGXFSZ:
        case SIGSYS: return true;
        default: return false;
    }
}

// si_pid is the sender only for these codes; others (timers, async I/O) put something else there.
bool names_sender(int si_code) {
    return si_code == SI_USER || si_code == SI_QUEUE || si_code == SI_MESGQ || si_code == SI_TKILL;
}

template <typename T>
T load(const std::vector<uint8_t>& bytes, size_t offset) {
    T value{};
    if (offset + sizeof(T) <= bytes.size()) std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

}  // namespace

CoreFile::~CoreFile() = default;

CoreFile::CoreFile(const std::string& path, CoreFileOptions options) : path_(path), options_(std::move(options)) {
    core_ = std::make_unique<ElfFile>(path);
    if (core_->type() != ET_CORE) throw Error(ErrorKind::BadInput, path + ": not a core file");
    uint64_t expected_size = 0;
    for (const ElfSegment& s : core_->segments()) {
        if (s.file_size > UINT64_MAX - s.file_offset)
            throw Error(ErrorKind::BadInput, path + ": a segment of the core file ends past 2^64 bytes");
        expected_size = std::max(expected_size, s.file_offset + s.file_size);
    }
    if (expected_size > core_->file_size()) {
        throw Error(ErrorKind::BadInput, path + ": the core file is truncated (" + std::to_string(core_->file_size()) +
                                             " of " + std::to_string(expected_size) + " bytes)");
    }
    for (const ElfSegment& s : core_->segments()) {
        if (s.type != PT_LOAD) continue;
        if (loads_.size() == kMaxMappings)
            throw Error(ErrorKind::BadInput, path + ": more than " + std::to_string(kMaxMappings) + " memory segments");
        loads_.push_back({s.vaddr, s.file_size, s.mem_size, s.file_offset, (s.flags & PF_W) != 0});
    }
    if (loads_.empty()) throw Error(ErrorKind::BadInput, path + ": core file has no memory segments");
    // By address, for the lookups below and each read (the kernel writes them so).
    std::stable_sort(loads_.begin(), loads_.end(),
                     [](const LoadSegment& a, const LoadSegment& b) { return a.vaddr < b.vaddr; });
    parse_notes();
    // NT_FILE does not say which mappings were writable; the PT_LOADs of those mappings do
    // (the cookie scan for _PyRuntime looks only at writable data): a writable PT_LOAD starts
    // in the region. next_writable[i]: the first writable load from loads_[i] on.
    std::vector<size_t> next_writable(loads_.size() + 1, loads_.size());
    for (size_t i = loads_.size(); i-- > 0;) next_writable[i] = loads_[i].writable ? i : next_writable[i + 1];
    for (MemoryRegion& r : regions_) {
        const auto first = std::lower_bound(loads_.begin(), loads_.end(), r.start,
                                            [](const LoadSegment& l, uint64_t at) { return l.vaddr < at; });
        const size_t w = next_writable[static_cast<size_t>(first - loads_.begin())];
        r.writable = w < loads_.size() && r.contains(loads_[w].vaddr);
    }
    // Anonymous memory: PT_LOADs not covered by a file mapping. The file mappings by start, each
    // with the furthest end of those up to it: a load is covered when one starting at or before
    // it ends after it.
    std::vector<std::pair<uint64_t, uint64_t>> files;  // (start, furthest end so far)
    for (const MemoryRegion& r : regions_)
        if (!r.path.empty()) files.emplace_back(r.start, r.end);
    std::sort(files.begin(), files.end());
    for (size_t i = 1; i < files.size(); ++i) files[i].second = std::max(files[i].second, files[i - 1].second);
    for (const LoadSegment& l : loads_) {
        const auto after =
            std::upper_bound(files.begin(), files.end(), l.vaddr,
                             [](uint64_t at, const std::pair<uint64_t, uint64_t>& f) { return at < f.first; });
        const bool file_backed = after != files.begin() && std::prev(after)->second > l.vaddr;
        if (!file_backed) {
            MemoryRegion r;
            r.start = l.vaddr;
            r.end = l.vaddr + l.mem_size;
            r.writable = l.writable;
            regions_.push_back(r);
        }
    }
    std::sort(regions_.begin(), regions_.end(),
              [](const MemoryRegion& a, const MemoryRegion& b) { return a.start < b.start; });
    for (size_t i = 0; i < regions_.size(); ++i) {
        const MemoryRegion& r = regions_[i];
        if (r.path.empty()) continue;
        if (r.file_offset == 0) first_pages_.try_emplace(r.path, r.start);
        if (entry_point_ && r.contains(entry_point_) && !entry_path_) entry_path_ = r.path;
    }
}

void CoreFile::parse_notes() {
    // The kernel writes the thread that took the fatal signal first, with pr_cursig set (in
    // every thread's note) and one NT_SIGINFO; gdb writes the signal a thread was stopped by
    // (none for `gcore PID`), and an NT_SIGINFO after each thread's NT_PRSTATUS.
    std::optional<FatalSignal> fatal;
    std::vector<uint8_t> fatal_siginfo;
    uint64_t execfn = 0;
    for (const ElfNote& note : core_->notes()) {
        if (note.name != "CORE") continue;
        if (note.type == NT_PRSTATUS && note.desc.size() >= kPrstatusMinSize) {
            TargetThread t;
            t.tid = load<int32_t>(note.desc, kPrstatusPid);
            std::array<uint64_t, kUserRegsCount> regs{};
            std::memcpy(regs.data(), note.desc.data() + kPrstatusRegs, sizeof(regs));
            t.pthread_id = regs[kUserRegFsBase];
            t.syscall = static_cast<int64_t>(regs[kUserRegOrigRax]);
            t.syscall_arg0 = regs[kUserRegRdi];
            t.registers = dwarf_registers(regs);
            threads_.push_back(t);
            const int cursig = load<int16_t>(note.desc, kPrstatusCursig);
            if (!fatal && dumps_core(cursig)) {
                fatal = FatalSignal{};
                fatal->tid = t.tid;
                fatal->number = cursig;
                if (load<int32_t>(note.desc, kPrstatusSigno) == cursig)
                    fatal->code = load<int32_t>(note.desc, kPrstatusCode);
            }
        } else if (note.type == kNtSiginfo && fatal && fatal->tid == threads_.back().tid && fatal_siginfo.empty() &&
                   load<int32_t>(note.desc, 0) == fatal->number && note.desc.size() >= kSiginfoUnion + 8) {
            fatal_siginfo = note.desc;
        } else if (note.type == NT_PRPSINFO && note.desc.size() >= kPrpsinfoParentPid + 4) {
            pid_ = load<int32_t>(note.desc, kPrpsinfoPid);
            process_.parent_pid = load<int32_t>(note.desc, kPrpsinfoParentPid);
            process_.uid = load<uint32_t>(note.desc, kPrpsinfoUid);
            if (note.desc.size() >= kPrpsinfoArgs + kPrpsinfoArgsSize) {
                const char* args = reinterpret_cast<const char*>(note.desc.data() + kPrpsinfoArgs);
                process_.command_line.assign(args, strnlen(args, kPrpsinfoArgsSize));
                while (!process_.command_line.empty() && process_.command_line.back() == ' ')
                    process_.command_line.pop_back();
            }
        } else if (note.type == NT_AUXV) {
            for (size_t off = 0; off + 16 <= note.desc.size(); off += 16) {
                const auto key = load<uint64_t>(note.desc, off);
                if (key == AT_ENTRY) entry_point_ = load<uint64_t>(note.desc, off + 8);
                if (key == AT_EXECFN) execfn = load<uint64_t>(note.desc, off + 8);
            }
        } else if (note.type == NT_FILE && note.desc.size() >= 16) {
            const auto count = load<uint64_t>(note.desc, 0);
            const auto page_size = load<uint64_t>(note.desc, 8);
            if (count > note.desc.size() / 24 || count > kMaxMappings) continue;
            size_t names = 16 + count * 24;
            for (uint64_t i = 0; i < count && names < note.desc.size(); ++i) {
                MemoryRegion r;
                r.start = load<uint64_t>(note.desc, 16 + i * 24);
                r.end = load<uint64_t>(note.desc, 16 + i * 24 + 8);
                r.file_offset = load<uint64_t>(note.desc, 16 + i * 24 + 16) * page_size;
                const char* name = reinterpret_cast<const char*>(note.desc.data() + names);
                const size_t len = strnlen(name, note.desc.size() - names);
                r.path.assign(name, len);
                names += len + 1;
                regions_.push_back(std::move(r));
            }
        }
    }
    if (pid_ == 0 && !threads_.empty()) pid_ = threads_.front().tid;
    if (fatal && !fatal_siginfo.empty()) {
        fatal->code = load<int32_t>(fatal_siginfo, kSiginfoCode);
        if (is_fault(fatal->number) && fatal->code > 0) fatal->address = load<uint64_t>(fatal_siginfo, kSiginfoUnion);
        else if (names_sender(fatal->code)) fatal->sender_pid = load<int32_t>(fatal_siginfo, kSiginfoUnion);
    }
    process_.pid = pid_;
    process_.fatal_signal = fatal;
    if (execfn) process_.executable = read_core_string(execfn, kMaxExecfn);
}

std::string CoreFile::read_core_string(uint64_t address, size_t max_size) const {
    std::string out;
    char buffer[256];
    while (out.size() < max_size) {
        const size_t got =
            read_from_core(address + out.size(), std::span(reinterpret_cast<uint8_t*>(buffer), sizeof buffer));
        if (got == 0) return {};  // cut off: better nothing than a wrong name
        const size_t len = strnlen(buffer, got);
        out.append(buffer, len);
        if (len < got) return out;
    }
    return {};
}

size_t CoreFile::read_from_core(uint64_t address, std::span<uint8_t> out) const {
    // The load starting last at or before `address` (the kernel's loads do not overlap).
    const auto after = std::upper_bound(loads_.begin(), loads_.end(), address,
                                        [](uint64_t at, const LoadSegment& l) { return at < l.vaddr; });
    if (after == loads_.begin()) return 0;
    const LoadSegment& l = *std::prev(after);
    if (address - l.vaddr >= l.file_size) return 0;
    const uint64_t n = std::min<uint64_t>(out.size(), l.file_size - (address - l.vaddr));
    return core_->read_at(l.offset + (address - l.vaddr), out.data(), n);
}

const ElfFile* CoreFile::open_mapped(const std::string& mapped_path) {
    auto it = mapped_files_.find(mapped_path);
    if (it != mapped_files_.end()) return it->second.get();
    if (missing_files_.count(mapped_path)) return nullptr;
    try {
        const auto local = local_file(mapped_path);
        if (!local) {
            missing_files_[mapped_path] = "missing";
            return nullptr;
        }
        auto file = std::make_unique<ElfFile>(*local);
        const ElfFile* raw = file.get();
        mapped_files_[mapped_path] = std::move(file);
        return raw;
    } catch (const Error& e) {
        missing_files_[mapped_path] = e.what();
        return nullptr;
    }
}

size_t CoreFile::read_from_mapped_file(uint64_t address, std::span<uint8_t> out) {
    // The region starting last at or before `address` (mappings do not overlap).
    const auto after = std::upper_bound(regions_.begin(), regions_.end(), address,
                                        [](uint64_t at, const MemoryRegion& r) { return at < r.start; });
    if (after == regions_.begin()) return 0;
    const MemoryRegion& r = *std::prev(after);
    if (r.path.empty() || !r.contains(address)) return 0;
    const ElfFile* file = open_mapped(r.path);
    if (!file) return 0;
    const uint64_t n = std::min<uint64_t>(out.size(), r.end - address);
    return file->read_at(r.file_offset + (address - r.start), out.data(), n);
}

size_t CoreFile::read(uint64_t address, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t at = address + done;
        size_t n = read_from_core(at, out.subspan(done));
        if (n == 0) n = read_from_mapped_file(at, out.subspan(done));
        if (n == 0) break;
        done += n;
    }
    return done;
}

std::optional<std::string> CoreFile::local_file(const std::string& mapped_path) const {
    auto local = relocated(mapped_path);
    if (local && !options_.force) check_build_id(mapped_path, *local);
    return local;
}

void CoreFile::check_build_id(const std::string& mapped_path, const std::string& local) const {
    if (auto it = verified_files_.find(mapped_path); it != verified_files_.end() && it->second == local) return;
    MappedImageIdentity recorded;
    if (const auto first_page = first_pages_.find(mapped_path); first_page != first_pages_.end()) {
        recorded = mapped_image_identity(
            [this](uint64_t address, std::span<uint8_t> out) { return read_from_core(address, out); },
            first_page->second);
    }
    // Without the header page in the core (or for a file that is no ELF image) there is nothing to compare.
    if (!recorded.headers.empty()) {
        const ElfFile file(local);
        const auto found = file.build_id();
        const std::string refused = local + " is not the file the core mapped at " + mapped_path + ": ";
        if (recorded.build_id && found != recorded.build_id) {
            throw Error(ErrorKind::BadInput, refused + "its build id is " + found.value_or("absent") +
                                                 ", the core's is " + *recorded.build_id + " (--force uses it anyway)");
        }
        if (!recorded.build_id && (file.file_size() < recorded.headers.size() ||
                                   std::memcmp(file.data(), recorded.headers.data(), recorded.headers.size()) != 0)) {
            throw Error(ErrorKind::BadInput,
                        refused + "its ELF headers differ from the core's copy of them (its build id is " +
                            found.value_or("absent") + "; the core holds none for it) (--force uses it anyway)");
        }
    }
    verified_files_[mapped_path] = local;
}

std::optional<std::string> CoreFile::relocated(const std::string& mapped_path) const {
    if (!options_.executable.empty() && entry_path_ == mapped_path) return options_.executable;
    for (const std::string& dir : options_.lib_search_path) {
        const std::string candidate = dir + "/" + file_name_of(mapped_path);
        if (::access(candidate.c_str(), R_OK) == 0) return candidate;
    }
    if (::access(mapped_path.c_str(), R_OK) == 0) return mapped_path;
    return std::nullopt;
}

}  // namespace stackscope
