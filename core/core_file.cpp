#include "core_file.hpp"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "mapped_elf.hpp"

namespace stackscope {

namespace {

// struct elf_prstatus (x86-64): pr_pid at 32, pr_reg (user_regs_struct) at 112; fs_base is register 21.
constexpr size_t kPrstatusPid = 32;
constexpr size_t kPrstatusRegs = 112;
constexpr size_t kRegFsBase = 21;
constexpr size_t kRegRdi = 14;
constexpr size_t kRegOrigRax = 15;
constexpr size_t kPrstatusMinSize = kPrstatusRegs + 27 * 8;

template <typename T>
T load(const std::vector<uint8_t>& bytes, size_t offset) {
    T value{};
    if (offset + sizeof(T) <= bytes.size()) std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

}  // namespace

CoreFile::CoreFile(const std::string& path, CoreFileOptions options) : path_(path), options_(std::move(options)) {
    core_ = std::make_unique<ElfFile>(path);
    if (core_->type() != ET_CORE) throw Error(ErrorKind::InvalidInput, path + ": not a core file");
    uint64_t expected_size = 0;
    for (const ElfSegment& s : core_->segments()) expected_size = std::max(expected_size, s.file_offset + s.file_size);
    if (expected_size > core_->file_size()) {
        throw Error(ErrorKind::InvalidInput, path + ": the core file is truncated (" + std::to_string(core_->file_size()) +
                                                 " of " + std::to_string(expected_size) + " bytes)");
    }
    for (const ElfSegment& s : core_->segments()) {
        if (s.type != PT_LOAD) continue;
        loads_.push_back({s.vaddr, s.file_size, s.mem_size, s.file_offset});
    }
    if (loads_.empty()) throw Error(ErrorKind::InvalidInput, path + ": core file has no memory segments");
    parse_notes();
    // Anonymous memory: PT_LOADs not covered by a file mapping.
    for (const LoadSegment& l : loads_) {
        const bool file_backed = std::any_of(regions_.begin(), regions_.end(), [&](const MemoryRegion& r) {
            return !r.path.empty() && r.start <= l.vaddr && l.vaddr < r.end;
        });
        if (!file_backed) {
            MemoryRegion r;
            r.start = l.vaddr;
            r.end = l.vaddr + l.mem_size;
            r.writable = true;
            regions_.push_back(r);
        }
    }
    std::sort(regions_.begin(), regions_.end(), [](const MemoryRegion& a, const MemoryRegion& b) { return a.start < b.start; });
}

void CoreFile::parse_notes() {
    for (const ElfNote& note : core_->notes()) {
        if (note.name != "CORE") continue;
        if (note.type == NT_PRSTATUS && note.desc.size() >= kPrstatusMinSize) {
            TargetThread t;
            t.tid = load<int32_t>(note.desc, kPrstatusPid);
            t.pthread_id = load<uint64_t>(note.desc, kPrstatusRegs + 8 * kRegFsBase);
            t.syscall = load<int64_t>(note.desc, kPrstatusRegs + 8 * kRegOrigRax);
            t.syscall_arg0 = load<uint64_t>(note.desc, kPrstatusRegs + 8 * kRegRdi);
            threads_.push_back(t);
        } else if (note.type == NT_PRPSINFO && note.desc.size() >= 28) {
            pid_ = load<int32_t>(note.desc, 24);  // struct elf_prpsinfo: pr_pid after state/flags/uid/gid
        } else if (note.type == NT_AUXV) {
            for (size_t off = 0; off + 16 <= note.desc.size(); off += 16) {
                if (load<uint64_t>(note.desc, off) == AT_ENTRY) entry_point_ = load<uint64_t>(note.desc, off + 8);
            }
        } else if (note.type == NT_FILE && note.desc.size() >= 16) {
            const auto count = load<uint64_t>(note.desc, 0);
            const auto page_size = load<uint64_t>(note.desc, 8);
            if (count > note.desc.size() / 24) continue;
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
}

size_t CoreFile::read_from_core(uint64_t address, std::span<uint8_t> out) const {
    for (const LoadSegment& l : loads_) {
        if (address < l.vaddr || address >= l.vaddr + l.file_size) continue;
        const uint64_t n = std::min<uint64_t>(out.size(), l.vaddr + l.file_size - address);
        return core_->read_at(l.offset + (address - l.vaddr), out.data(), n);
    }
    return 0;
}

const ElfFile* CoreFile::open_mapped(const std::string& mapped_path) {
    auto it = mapped_files_.find(mapped_path);
    if (it != mapped_files_.end()) return it->second.get();
    if (missing_files_.count(mapped_path)) return nullptr;
    const auto local = local_file(mapped_path);
    if (!local) {
        missing_files_[mapped_path] = "missing";
        return nullptr;
    }
    try {
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
    for (const MemoryRegion& r : regions_) {
        if (r.path.empty() || !r.contains(address)) continue;
        const ElfFile* file = open_mapped(r.path);
        if (!file) return 0;
        const uint64_t n = std::min<uint64_t>(out.size(), r.end - address);
        return file->read_at(r.file_offset + (address - r.start), out.data(), n);
    }
    return 0;
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
    if (!options_.executable.empty() && entry_point_) {
        for (const MemoryRegion& r : regions_) {
            if (r.path == mapped_path && r.contains(entry_point_)) return options_.executable;
        }
    }
    for (const std::string& dir : options_.lib_search_path) {
        const std::string candidate = dir + "/" + file_name_of(mapped_path);
        if (::access(candidate.c_str(), R_OK) == 0) return candidate;
    }
    if (::access(mapped_path.c_str(), R_OK) == 0) return mapped_path;
    return std::nullopt;
}

}  // namespace stackscope
