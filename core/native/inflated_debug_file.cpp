#include "native/inflated_debug_file.hpp"

#include <elf.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <future>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace stackscope {

namespace {

// What naming a frame reads: its function and inline scopes, their names, its line, and the CFI
// of .debug_frame. Location lists, macros and the name indexes are never read.
constexpr std::array<std::string_view, 12> kInflated = {
    ".debug_info", ".debug_abbrev",   ".debug_line",   ".debug_line_str", ".debug_str",   ".debug_str_offsets",
    ".debug_addr", ".debug_rnglists", ".debug_ranges", ".debug_aranges",  ".debug_frame", ".debug_types"};

// Far above any real debug file (libc6-dbg's libc inflates to 10 MB); a header claiming more is
// corrupt.
constexpr uint64_t kMaxInflatedBytes = uint64_t{512} << 20;
// zlib's deflate shrinks data at most about 1032 times: a section claiming more is corrupt (and
// would have its whole claimed size allocated and populated first).
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kMaxAlignment = 4096;

struct Mapping {
    void* data = MAP_FAILED;
    size_t size = 0;
    ~Mapping() {
        if (data != MAP_FAILED) ::munmap(data, size);
    }
    const uint8_t* bytes() const { return static_cast<const uint8_t*>(data); }
};

struct FileDescriptor {
    int fd = -1;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

struct Inflation {
    const uint8_t* input = nullptr;  // the zlib stream, after its Elf64_Chdr
    size_t input_size = 0;
    uint64_t output_offset = 0;
    uint64_t output_size = 0;
};

uint64_t align_up(uint64_t value, uint64_t alignment) {
    return alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}

std::optional<std::string_view> section_name(const Mapping& file, const Elf64_Shdr& strings, uint32_t name) {
    if (strings.sh_type == SHT_NOBITS || strings.sh_offset > file.size ||
        strings.sh_size > file.size - strings.sh_offset || name >= strings.sh_size)
        return std::nullopt;
    const char* begin = reinterpret_cast<const char*>(file.bytes() + strings.sh_offset + name);
    const size_t room = strings.sh_size - name;
    const size_t length = ::strnlen(begin, room);
    if (length == room) return std::nullopt;
    return std::string_view(begin, length);
}

// Inflates each zlib stream into its place in `image`; false when one is corrupt.
bool inflate_into(uint8_t* image, std::span<const Inflation> inflations) {
    std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> inflater(
        libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
    if (!inflater) return false;
    for (const Inflation& job : inflations) {
        size_t produced = 0;
        if (libdeflate_zlib_decompress(inflater.get(), job.input, job.input_size, image + job.output_offset,
                                       job.output_size, &produced) != LIBDEFLATE_SUCCESS ||
            produced != job.output_size)
            return false;
    }
    return true;
}

// Whether an SHT_NOTE section holds the GNU build-id note `build_id`.
bool holds_build_id(const Mapping& file, const Elf64_Shdr& notes, std::span<const uint8_t> build_id) {
    if (notes.sh_type != SHT_NOTE || (notes.sh_flags & SHF_COMPRESSED) || notes.sh_offset > file.size ||
        notes.sh_size > file.size - notes.sh_offset)
        return false;
    const uint8_t* p = file.bytes() + notes.sh_offset;
    uint64_t left = notes.sh_size;
    while (left >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr note;
        std::memcpy(&note, p, sizeof(note));
        const uint64_t name = align_up(note.n_namesz, 4), desc = align_up(note.n_descsz, 4);
        if (name + desc > left - sizeof(note)) return false;
        const uint8_t* name_bytes = p + sizeof(note);
        if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == sizeof(ELF_NOTE_GNU) &&
            std::memcmp(name_bytes, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)) == 0)
            return note.n_descsz == build_id.size() &&
                   std::memcmp(name_bytes + name, build_id.data(), build_id.size()) == 0;
        p += sizeof(note) + name + desc;
        left -= sizeof(note) + name + desc;
    }
    return false;
}

}  // namespace

std::optional<int> inflated_debug_file(int fd, std::span<const uint8_t> build_id) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) return std::nullopt;
    Mapping file;
    file.size = static_cast<size_t>(st.st_size);
    file.data = ::mmap(nullptr, file.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file.data == MAP_FAILED) return std::nullopt;

    Elf64_Ehdr header;
    std::memcpy(&header, file.bytes(), sizeof(header));
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
        header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 ||
        header.e_shstrndx >= header.e_shnum || header.e_shoff > file.size ||
        uint64_t{header.e_shnum} * sizeof(Elf64_Shdr) > file.size - header.e_shoff)
        return std::nullopt;
    std::vector<Elf64_Shdr> sections(header.e_shnum);
    std::memcpy(sections.data(), file.bytes() + header.e_shoff, sections.size() * sizeof(Elf64_Shdr));
    const std::vector<Elf64_Shdr> original = sections;

    if (build_id.empty() || std::none_of(sections.begin(), sections.end(), [&](const Elf64_Shdr& section) {
            return holds_build_id(file, section, build_id);
        }))
        return std::nullopt;

    std::vector<Inflation> inflations;
    uint64_t end = align_up(file.size, 16);
    bool compressed = false;
    for (size_t i = 0; i < sections.size(); ++i) {
        Elf64_Shdr& s = sections[i];
        if (!(s.sh_flags & SHF_COMPRESSED) || s.sh_type == SHT_NOBITS) continue;
        compressed = true;
        Elf64_Chdr chdr;
        if (s.sh_offset > file.size || s.sh_size > file.size - s.sh_offset || s.sh_size < sizeof(chdr))
            return std::nullopt;
        std::memcpy(&chdr, file.bytes() + s.sh_offset, sizeof(chdr));
        const auto name = section_name(file, sections[header.e_shstrndx], s.sh_name);
        const bool wanted = name && std::find(kInflated.begin(), kInflated.end(), *name) != kInflated.end();
        if (!wanted || chdr.ch_type != ELFCOMPRESS_ZLIB) {  // never read: left out
            s.sh_type = SHT_NOBITS;
            s.sh_flags &= ~static_cast<uint64_t>(SHF_COMPRESSED);
            s.sh_size = 0;
            continue;
        }
        const uint64_t alignment = std::clamp<uint64_t>(chdr.ch_addralign, 1, kMaxAlignment);
        if (chdr.ch_size > kMaxInflatedBytes || end > kMaxInflatedBytes ||
            chdr.ch_size / kMaxDeflateRatio > s.sh_size - sizeof(chdr))
            return std::nullopt;
        end = align_up(end, alignment);
        inflations.push_back({file.bytes() + s.sh_offset + sizeof(chdr), s.sh_size - sizeof(chdr), end, chdr.ch_size});
        s.sh_flags &= ~static_cast<uint64_t>(SHF_COMPRESSED);
        s.sh_offset = end;
        s.sh_size = chdr.ch_size;
        s.sh_addralign = alignment;
        end += chdr.ch_size;
    }
    if (!compressed) return std::nullopt;
    const uint64_t table = align_up(end, alignof(Elf64_Shdr));
    const uint64_t total = table + sections.size() * sizeof(Elf64_Shdr);
    if (total > kMaxInflatedBytes) return std::nullopt;

    FileDescriptor out{::memfd_create("stackscope-debug", MFD_CLOEXEC)};
    if (out.fd < 0 || ::ftruncate(out.fd, static_cast<off_t>(total)) != 0) return std::nullopt;
    Mapping image;
    image.size = total;
    // Populated at once: cheaper than a page fault for each page written.
    image.data = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, out.fd, 0);
    if (image.data == MAP_FAILED) return std::nullopt;
    uint8_t* bytes = static_cast<uint8_t*>(image.data);
    // The headers and every section kept as it is, at their offsets; the compressed sections'
    // bytes are not copied (the file has holes there).
    const auto copy = [&](uint64_t offset, uint64_t size) {
        if (offset <= file.size && size <= file.size - offset) std::memcpy(bytes + offset, file.bytes() + offset, size);
    };
    copy(0, std::max<uint64_t>(sizeof(Elf64_Ehdr), header.e_phoff + uint64_t{header.e_phnum} * header.e_phentsize));
    for (size_t i = 0; i < sections.size(); ++i) {
        if (original[i].sh_type != SHT_NOBITS && !(original[i].sh_flags & SHF_COMPRESSED))
            copy(original[i].sh_offset, original[i].sh_size);
    }

    // The largest section (.debug_info) on a thread of its own, the others on this one.
    std::sort(inflations.begin(), inflations.end(),
              [](const Inflation& a, const Inflation& b) { return a.output_size > b.output_size; });
    std::future<bool> largest;
    if (inflations.size() > 1) {
        try {
            largest = std::async(std::launch::async, inflate_into, bytes, std::span(inflations).first(1));
        } catch (const std::system_error&) {  // no thread: all on this one
        }
    }
    const bool rest = inflate_into(bytes, std::span(inflations).subspan(largest.valid() ? 1 : 0));
    if (!(largest.valid() ? largest.get() : true) || !rest) return std::nullopt;
    std::memcpy(bytes + table, sections.data(), sections.size() * sizeof(Elf64_Shdr));
    header.e_shoff = table;
    std::memcpy(bytes, &header, sizeof(header));
    return out.release();
}

}  // namespace stackscope
