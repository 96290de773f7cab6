#include "target/build_id.hpp"

#include <elf.h>

#include <cstring>
#include <vector>

namespace stackscope {

namespace {

constexpr size_t kMaxProgramHeaders = 64;
constexpr size_t kMaxNoteBytes = 4096;

template <typename T>
bool read_struct(const ImageReader& read, uint64_t address, T& out) {
    return read(address, std::span(reinterpret_cast<uint8_t*>(&out), sizeof out)) == sizeof out;
}

std::optional<std::string> build_id_in_notes(std::span<const uint8_t> notes) {
    size_t at = 0;
    auto align4 = [](size_t n) { return (n + 3) & ~size_t{3}; };
    while (at + sizeof(Elf64_Nhdr) <= notes.size()) {
        Elf64_Nhdr header;
        std::memcpy(&header, notes.data() + at, sizeof header);
        const size_t name_at = at + sizeof header;
        const size_t desc_at = name_at + align4(header.n_namesz);
        if (header.n_namesz > notes.size() || header.n_descsz > notes.size() ||
            desc_at + header.n_descsz > notes.size())
            break;
        if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 &&
            std::memcmp(notes.data() + name_at, "GNU", 4) == 0 && header.n_descsz > 0) {
            return build_id_hex(notes.subspan(desc_at, header.n_descsz));
        }
        at = desc_at + align4(header.n_descsz);
    }
    return std::nullopt;
}

}  // namespace

std::string build_id_hex(std::span<const uint8_t> id) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const uint8_t b : id) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

MappedImageIdentity mapped_image_identity(const ImageReader& read, uint64_t base) {
    MappedImageIdentity out;
    Elf64_Ehdr ehdr;
    if (!read_struct(read, base, ehdr) || std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0 ||
        ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_phentsize != sizeof(Elf64_Phdr) ||
        ehdr.e_phnum > kMaxProgramHeaders || ehdr.e_phoff != sizeof ehdr) {
        return out;
    }
    std::vector<uint8_t> headers(sizeof ehdr + ehdr.e_phnum * sizeof(Elf64_Phdr));
    if (read(base, headers) != headers.size()) return out;
    std::vector<Elf64_Phdr> phdrs(ehdr.e_phnum);
    if (!phdrs.empty()) std::memcpy(phdrs.data(), headers.data() + sizeof ehdr, phdrs.size() * sizeof(Elf64_Phdr));
    out.headers = std::move(headers);
    // Link-time address of file offset 0, from the PT_LOAD that maps it.
    uint64_t image_start = 0;
    for (const Elf64_Phdr& ph : phdrs) {
        if (ph.p_type == PT_LOAD && ph.p_offset == 0) image_start = ph.p_vaddr;
    }
    for (const Elf64_Phdr& ph : phdrs) {
        if (ph.p_type != PT_NOTE || ph.p_filesz > kMaxNoteBytes || ph.p_vaddr < image_start) continue;
        std::vector<uint8_t> notes(ph.p_filesz);
        // Usually in the header page the core keeps; elsewhere it is rarely in memory.
        if (read(base + (ph.p_vaddr - image_start), notes) != notes.size()) continue;
        if (auto id = build_id_in_notes(notes)) {
            out.build_id = id;
            break;
        }
    }
    return out;
}

}  // namespace stackscope
