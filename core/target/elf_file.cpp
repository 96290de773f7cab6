#include "target/elf_file.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>
#include <cerrno>
#include <cstring>
#include <set>

#include "target/build_id.hpp"
#include "stackscope/error.hpp"

namespace stackscope {

namespace {

void init_libelf() {
    // elf_version must be called once before any other libelf call; it only records the version.
    static const bool initialised = elf_version(EV_CURRENT) != EV_NONE;
    (void)initialised;
}

Error invalid(const std::string& path, const std::string& why) { return Error(ErrorKind::BadInput, path + ": " + why); }

}  // namespace

ElfFile::ElfFile(const std::string& path) : path_(path) {
    init_libelf();
    // Non-blocking: a FIFO of that name (a core can name any path) must not wait for a writer.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) {
        const int err = errno;
        throw Error(err == EACCES || err == EPERM ? ErrorKind::PermissionDenied
                    : err == ENOENT               ? ErrorKind::NoSuchTarget
                                                  : ErrorKind::BadInput,
                    path + ": " + std::strerror(err));
    }
    struct stat st {};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw invalid(path, "not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ < 64) {
        ::close(fd_);
        throw invalid(path, "too small to be an ELF file");
    }
    void* mapped = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (mapped == MAP_FAILED) {
        ::close(fd_);
        throw invalid(path, std::string("cannot map: ") + std::strerror(errno));
    }
    data_ = static_cast<const uint8_t*>(mapped);
    elf_ = elf_memory(reinterpret_cast<char*>(const_cast<uint8_t*>(data_)), size_);
    GElf_Ehdr ehdr;
    if (!elf_ || elf_kind(elf_) != ELF_K_ELF || !gelf_getehdr(elf_, &ehdr) || gelf_getclass(elf_) != ELFCLASS64) {
        if (elf_) elf_end(elf_);
        munmap(const_cast<uint8_t*>(data_), size_);
        ::close(fd_);
        throw invalid(path, "not a 64-bit ELF file");
    }
    type_ = ehdr.e_type;
    size_t phnum = 0;
    if (elf_getphdrnum(elf_, &phnum) == 0) {
        for (size_t i = 0; i < phnum && i < 65536; ++i) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf_, static_cast<int>(i), &ph)) continue;
            segments_.push_back({ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz, ph.p_align});
        }
    }
}

ElfFile::~ElfFile() {
    if (elf_) elf_end(elf_);
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
}

bool ElfFile::is_position_independent() const { return type_ == ET_DYN; }

std::optional<ElfSymbol> ElfFile::symbol(std::string_view name) const { return symbols(std::span(&name, 1)).front(); }

namespace {

uint32_t gnu_hash(std::string_view name) {
    uint32_t h = 5381;
    for (const char c : name) h = h * 33 + static_cast<unsigned char>(c);
    return h;
}

// A defined symbol of .dynsym through its .gnu.hash table, every index bounded by the
// sections' sizes; nullopt when absent (or when the table is unusable).
std::optional<ElfSymbol> gnu_hash_lookup(Elf* elf, Elf_Data* hash, Elf_Data* dynsym, size_t strtab, size_t sym_count,
                                         std::string_view name) {
    const size_t words = hash->d_size / 4;
    const auto* w = static_cast<const uint32_t*>(hash->d_buf);
    if (words < 4) return std::nullopt;
    const uint64_t nbuckets = w[0], symoffset = w[1], bloom_words = w[2];
    const uint64_t buckets_at = 4 + 2 * bloom_words;  // 64-bit bloom words
    if (nbuckets == 0 || buckets_at + nbuckets > words) return std::nullopt;
    const uint64_t chain_at = buckets_at + nbuckets;
    const uint32_t h = gnu_hash(name);
    for (uint64_t i = w[buckets_at + h % nbuckets]; i >= symoffset && i < sym_count; ++i) {
        const uint64_t chain = chain_at + (i - symoffset);
        if (chain >= words) return std::nullopt;
        const uint32_t chain_hash = w[chain];
        if ((chain_hash | 1) == (h | 1)) {
            GElf_Sym sym;
            if (!gelf_getsym(dynsym, static_cast<int>(i), &sym)) return std::nullopt;
            const char* sym_name = elf_strptr(elf, strtab, sym.st_name);
            if (sym_name && name == sym_name && sym.st_shndx != SHN_UNDEF && sym.st_value != 0) {
                return ElfSymbol{sym.st_value, sym.st_size};
            }
        }
        if (chain_hash & 1) break;
    }
    return std::nullopt;
}

}  // namespace

std::vector<std::optional<ElfSymbol>> ElfFile::symbols(std::span<const std::string_view> names) const {
    std::vector<std::optional<ElfSymbol>> found(names.size());
    size_t missing = names.size();
    // .gnu.hash first: a few probes per name instead of a pass over every dynamic symbol.
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf_, scn)) != nullptr) {
        GElf_Shdr sh, dynsym_sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_GNU_HASH) continue;
        Elf_Scn* dynsym_scn = elf_getscn(elf_, sh.sh_link);
        if (!dynsym_scn || !gelf_getshdr(dynsym_scn, &dynsym_sh) || dynsym_sh.sh_type != SHT_DYNSYM ||
            dynsym_sh.sh_entsize == 0)
            break;
        Elf_Data* hash = elf_getdata(scn, nullptr);
        Elf_Data* dynsym = elf_getdata(dynsym_scn, nullptr);
        if (!hash || !dynsym || !hash->d_buf) break;
        for (size_t n = 0; n < names.size(); ++n) {
            found[n] = gnu_hash_lookup(elf_, hash, dynsym, dynsym_sh.sh_link, dynsym_sh.sh_size / dynsym_sh.sh_entsize,
                                       names[n]);
            if (found[n]) --missing;
        }
        if (missing == 0) return found;
        break;
    }
    // One hash lookup per symbol of the tables, not one comparison per name.
    std::unordered_map<std::string_view, size_t> wanted_names;
    for (size_t n = 0; n < names.size(); ++n) wanted_names.emplace(names[n], n);
    for (const Elf64_Word wanted : {SHT_DYNSYM, SHT_SYMTAB}) {
        Elf_Scn* scn = nullptr;
        while ((scn = elf_nextscn(elf_, scn)) != nullptr) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != wanted || sh.sh_entsize == 0) continue;
            Elf_Data* data = elf_getdata(scn, nullptr);
            if (!data) continue;
            const size_t count = sh.sh_size / sh.sh_entsize;
            for (size_t i = 0; i < count; ++i) {
                GElf_Sym sym;
                if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
                if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
                const char* sym_name = elf_strptr(elf_, sh.sh_link, sym.st_name);
                if (!sym_name) continue;
                const auto n = wanted_names.find(sym_name);
                if (n == wanted_names.end() || found[n->second]) continue;
                found[n->second] = ElfSymbol{sym.st_value, sym.st_size};
                if (--missing == 0) return found;
            }
        }
    }
    return found;
}

std::optional<ElfSection> ElfFile::section(std::string_view name) const {
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf_, &shstrndx) != 0) return std::nullopt;
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf_, scn)) != nullptr) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        const char* sec_name = elf_strptr(elf_, shstrndx, sh.sh_name);
        if (sec_name && name == sec_name) return ElfSection{sh.sh_addr, sh.sh_size, sh.sh_offset};
    }
    return std::nullopt;
}

std::vector<ElfNote> ElfFile::notes() const {
    std::vector<ElfNote> out;
    std::set<std::pair<uint64_t, uint64_t>> read;  // (offset, size): headers may name one range many times
    uint64_t total = 0;
    for (size_t i = 0; i < segments_.size(); ++i) {
        if (segments_[i].type != PT_NOTE) continue;
        if (!read.emplace(segments_[i].file_offset, segments_[i].file_size).second) continue;
        total += std::min(segments_[i].file_size, size_);
        if (total > kMaxNoteBytes)
            throw invalid(path_, "its notes are larger than " + std::to_string(kMaxNoteBytes >> 20) + " MiB");
        Elf_Data* data = elf_getdata_rawchunk(elf_, static_cast<int64_t>(segments_[i].file_offset),
                                              segments_[i].file_size, ELF_T_NHDR);
        if (!data) continue;
        size_t offset = 0;
        GElf_Nhdr nh;
        size_t name_off = 0, desc_off = 0;
        while ((offset = gelf_getnote(data, offset, &nh, &name_off, &desc_off)) > 0) {
            ElfNote note;
            note.type = nh.n_type;
            const auto* base = static_cast<const uint8_t*>(data->d_buf);
            if (nh.n_namesz) note.name.assign(reinterpret_cast<const char*>(base + name_off), nh.n_namesz - 1);
            note.desc.assign(base + desc_off, base + desc_off + nh.n_descsz);
            out.push_back(std::move(note));
        }
    }
    return out;
}

std::optional<std::string> ElfFile::build_id() const {
    for (const ElfNote& note : notes()) {
        if (note.type == NT_GNU_BUILD_ID && note.name == "GNU") {
            return build_id_hex(note.desc);
        }
    }
    return std::nullopt;
}

uint64_t ElfFile::first_load_vaddr() const {
    for (const ElfSegment& s : segments_) {
        if (s.type != PT_LOAD) continue;
        return s.vaddr - s.file_offset;
    }
    return 0;
}

size_t ElfFile::read_at(uint64_t offset, void* out, size_t size) const {
    // An empty read may come with a null `out` (an empty span's data()): memcpy must not see it.
    if (size == 0 || offset >= size_) return 0;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, size_ - offset));
    std::memcpy(out, data_ + offset, n);
    return n;
}

}  // namespace stackscope
