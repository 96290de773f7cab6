// Core files built by hand with what a hostile one can claim: the same notes named by many
// headers, many mappings, a FIFO named as a mapped file. Each must cost little and never block.
#include <catch2/catch.hpp>

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "stackscope/core_file.hpp"
#include "stackscope/error.hpp"
#include "target/elf_file.hpp"

using namespace stackscope;

namespace {

constexpr uint32_t kNtFile = 0x46494c45;  // NT_FILE

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("stackscope-unit-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

struct Mapping {
    uint64_t start, end, page_offset;
    std::string path;
};

// An NT_FILE note ("CORE", 4-byte aligned) for `mappings`.
std::vector<uint8_t> nt_file_note(const std::vector<Mapping>& mappings) {
    std::vector<uint8_t> desc(16 + 24 * mappings.size());
    const uint64_t count = mappings.size(), page_size = 4096;
    std::memcpy(desc.data(), &count, 8);
    std::memcpy(desc.data() + 8, &page_size, 8);
    for (size_t i = 0; i < mappings.size(); ++i) {
        std::memcpy(desc.data() + 16 + 24 * i, &mappings[i].start, 8);
        std::memcpy(desc.data() + 16 + 24 * i + 8, &mappings[i].end, 8);
        std::memcpy(desc.data() + 16 + 24 * i + 16, &mappings[i].page_offset, 8);
    }
    for (const Mapping& m : mappings) desc.insert(desc.end(), m.path.begin(), m.path.end() + 1);
    while (desc.size() % 4) desc.push_back(0);
    std::vector<uint8_t> note(20 + desc.size());  // header, "CORE" padded to 8, desc
    const uint32_t namesz = 5, descsz = static_cast<uint32_t>(desc.size()), type = kNtFile;
    std::memcpy(note.data(), &namesz, 4);
    std::memcpy(note.data() + 4, &descsz, 4);
    std::memcpy(note.data() + 8, &type, 4);
    std::memcpy(note.data() + 12, "CORE", 5);
    std::memcpy(note.data() + 20, desc.data(), desc.size());
    return note;
}

// A core: `loads` PT_LOADs (each one page, its bytes in the file), then `note_headers` PT_NOTE
// headers that all name `note`.
std::string write_core(const std::string& name, const std::vector<uint64_t>& loads, const std::vector<uint8_t>& note,
                       size_t note_headers) {
    const size_t phnum = loads.size() + note_headers;
    REQUIRE(phnum < PN_XNUM);
    const uint64_t note_offset = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
    const uint64_t data_offset = (note_offset + note.size() + 4095) & ~uint64_t{4095};
    std::vector<uint8_t> file(data_offset + (loads.empty() ? 0 : 4096));
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = static_cast<uint16_t>(phnum);
    std::memcpy(file.data(), &eh, sizeof eh);
    size_t at = sizeof(Elf64_Ehdr);
    for (const uint64_t vaddr : loads) {
        Elf64_Phdr ph{};
        ph.p_type = PT_LOAD;
        ph.p_flags = PF_R | PF_W;
        ph.p_offset = data_offset;  // every load shows the same page of the file
        ph.p_vaddr = vaddr;
        ph.p_filesz = ph.p_memsz = 4096;
        std::memcpy(file.data() + at, &ph, sizeof ph);
        at += sizeof ph;
    }
    for (size_t i = 0; i < note_headers; ++i) {
        Elf64_Phdr ph{};
        ph.p_type = PT_NOTE;
        ph.p_offset = note_offset;
        ph.p_filesz = note.size();
        std::memcpy(file.data() + at, &ph, sizeof ph);
        at += sizeof ph;
    }
    std::memcpy(file.data() + note_offset, note.data(), note.size());
    const std::string path = temp_path(name);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    return path;
}

}  // namespace

TEST_CASE("ElfFile: a note range named by many headers is read once", "[core_file]") {
    const std::vector<uint8_t> note = nt_file_note({{0x10000, 0x11000, 0, "/x"}});
    const std::string path = write_core("repeated-notes", {0x10000}, note, 300);
    const ElfFile file(path);
    const std::vector<ElfNote> notes = file.notes();
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].type == kNtFile);
    ::unlink(path.c_str());
}

TEST_CASE("CoreFile: 60,000 mappings open in linear time", "[core_file]") {
    // As many PT_LOADs and NT_FILE entries (one file each): each mapping was matched against
    // every load, 3.6e9 steps.
    constexpr size_t kCount = 60000;
    std::vector<uint64_t> loads;
    std::vector<Mapping> mappings;
    for (size_t i = 0; i < kCount; ++i) {
        const uint64_t start = 0x10000000 + i * 0x2000;
        loads.push_back(start);
        mappings.push_back({start + 0x1000, start + 0x2000, 0, "/nonexistent/f" + std::to_string(i)});
    }
    const std::string path = write_core("many-mappings", loads, nt_file_note(mappings), 1);
    const auto started = std::chrono::steady_clock::now();
    CoreFile core(path, {});
    std::vector<uint8_t> byte(1);
    for (size_t i = 0; i < kCount; i += 97) {
        CHECK(core.read(loads[i], byte) == 1);           // in the core
        CHECK(core.read(mappings[i].start, byte) == 0);  // in a file that is not there
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CHECK(seconds < 10);  // a few hundred milliseconds, even sanitized
    CHECK(core.regions().size() == 2 * kCount);
    ::unlink(path.c_str());
}

TEST_CASE("CoreFile: a FIFO named as a mapped file is refused without waiting for a writer", "[core_file]") {
    const std::string fifo = temp_path("mapped-fifo");
    ::unlink(fifo.c_str());
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string path = write_core("fifo-core", {0x10000}, nt_file_note({{0x20000, 0x21000, 0, fifo}}), 1);
    CoreFile core(path, {});
    std::vector<uint8_t> byte(1);
    CHECK(core.read(0x20000, byte) == 0);  // blocked in open() before
    ::unlink(path.c_str());
    ::unlink(fifo.c_str());
}
