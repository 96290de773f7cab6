#pragma once
// An ELF file on disk read with libelf: symbols, sections, load segments, notes.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct Elf;

namespace stackscope {

struct ElfSymbol {
    uint64_t value = 0;
    uint64_t size = 0;
};

struct ElfSection {
    uint64_t address = 0;
    uint64_t size = 0;
    uint64_t file_offset = 0;
};

struct ElfSegment {
    uint32_t type = 0;
    uint32_t flags = 0;
    uint64_t file_offset = 0;
    uint64_t vaddr = 0;
    uint64_t file_size = 0;
    uint64_t mem_size = 0;
    uint64_t align = 0;
};

struct ElfNote {
    uint32_t type = 0;
    std::string name;
    std::vector<uint8_t> desc;
};

class ElfFile {
public:
    // Opens `path`; throws Error(BadInput) when it is not a 64-bit ELF file, NoSuchTarget
    // when it is absent and PermissionDenied when it may not be read.
    explicit ElfFile(const std::string& path);
    ~ElfFile();
    ElfFile(const ElfFile&) = delete;
    ElfFile& operator=(const ElfFile&) = delete;

    const std::string& path() const { return path_; }
    uint16_t type() const { return type_; }  // ET_EXEC, ET_DYN, ET_CORE
    bool is_position_independent() const;

    // .dynsym first, then .symtab; defined symbols only.
    std::optional<ElfSymbol> symbol(std::string_view name) const;
    // Several symbols in one pass over the tables: result i is names[i]'s.
    std::vector<std::optional<ElfSymbol>> symbols(std::span<const std::string_view> names) const;
    std::optional<ElfSection> section(std::string_view name) const;
    const std::vector<ElfSegment>& segments() const { return segments_; }
    // Each PT_NOTE range once; throws Error(BadInput) past kMaxNoteBytes in all (a core's notes
    // are a few MB: one per thread, the mapped files).
    static constexpr uint64_t kMaxNoteBytes = 256 << 20;
    std::vector<ElfNote> notes() const;
    std::optional<std::string> build_id() const;

    // The link-time address of file offset 0 (from the first PT_LOAD): subtract it from where
    // offset 0 is mapped to get the load bias.
    uint64_t first_load_vaddr() const;

    // Reads file bytes at `offset`; returns how many were available.
    size_t read_at(uint64_t offset, void* out, size_t size) const;
    uint64_t file_size() const { return size_; }
    const uint8_t* data() const { return data_; }

private:
    std::string path_;
    int fd_ = -1;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    Elf* elf_ = nullptr;
    uint16_t type_ = 0;
    std::vector<ElfSegment> segments_;
};

}  // namespace stackscope
