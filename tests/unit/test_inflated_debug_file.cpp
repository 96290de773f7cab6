// Tests for core/native/inflated_debug_file.hpp: a separate debug file made at test time (gcc
// -gz=zlib, objcopy --only-keep-debug), inflated, against the same file inflated by objcopy
// --decompress-debug-sections, read back through libelf and libdw; and the files it must leave to
// libdwfl (another build id, a corrupt stream, nothing compressed, not ELF).
#include <catch2/catch.hpp>

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "native/inflated_debug_file.hpp"
#include "command_output.hpp"

using stackscope::inflated_debug_file;

namespace {

using stackscope::test::command_output;

struct Section {
    uint32_t type = 0;
    uint64_t flags = 0;
    std::string bytes;
};

// Each section by name, as libelf reads it from the file open at fd.
std::map<std::string, Section> sections_of(int fd) {
    std::map<std::string, Section> out;
    elf_version(EV_CURRENT);
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    REQUIRE(elf);
    size_t strings = 0;
    REQUIRE(elf_getshdrstrndx(elf, &strings) == 0);
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        REQUIRE(gelf_getshdr(scn, &shdr));
        Section s{shdr.sh_type, shdr.sh_flags, {}};
        if (shdr.sh_type != SHT_NOBITS) {
            Elf_Data* data = elf_rawdata(scn, nullptr);
            if (data && data->d_buf) s.bytes.assign(static_cast<const char*>(data->d_buf), data->d_size);
        }
        out.emplace(elf_strptr(elf, strings, shdr.sh_name), std::move(s));
    }
    elf_end(elf);
    return out;
}

size_t compile_units(int fd) {
    Dwarf* dwarf = dwarf_begin(fd, DWARF_C_READ);
    REQUIRE(dwarf);
    size_t count = 0;
    Dwarf_Off offset = 0, next = 0;
    size_t header = 0;
    while (dwarf_nextcu(dwarf, offset, &next, &header, nullptr, nullptr, nullptr) == 0) {
        ++count;
        offset = next;
    }
    dwarf_end(dwarf);
    return count;
}

std::vector<uint8_t> hex_bytes(const std::string& hex) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

struct DebugFiles {
    std::filesystem::path dir;
    std::filesystem::path compressed;  // objcopy --only-keep-debug of a gcc -gz=zlib program
    std::filesystem::path reference;   // the same, inflated by objcopy
    std::vector<uint8_t> build_id;

    DebugFiles() {
        char pattern[] = "/tmp/stackscope-inflate-XXXXXX";
        REQUIRE(::mkdtemp(pattern));
        dir = pattern;
        std::ofstream(dir / "program.c")
            << "#include <stdio.h>\n"
               "static inline int twice(int x) { return 2 * x; }\n"
               "int main(int argc, char** argv) {\n"
               "    for (int i = 0; i < argc; ++i) printf(\"%s %d\\n\", argv[i], twice(i));\n"
               "    return 0;\n"
               "}\n";
        const std::string d = dir.string();
        REQUIRE(std::system(("gcc -g -O2 -gz=zlib -Wl,--build-id " + d + "/program.c -o " + d + "/program").c_str()) ==
                0);
        compressed = dir / "program.debug";
        reference = dir / "program.plain.debug";
        REQUIRE(std::system(("objcopy --only-keep-debug " + d + "/program " + compressed.string()).c_str()) == 0);
        REQUIRE(std::system(("objcopy --decompress-debug-sections " + compressed.string() + " " + reference.string())
                                .c_str()) == 0);
        build_id = hex_bytes(
            command_output("readelf -n " + compressed.string() + " 2>/dev/null | awk '/Build ID/ {print $3}'"));
        REQUIRE(build_id.size() == 20);
    }
    ~DebugFiles() { std::filesystem::remove_all(dir); }
};

struct Fd {
    int fd;
    explicit Fd(const std::filesystem::path& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
        REQUIRE(fd >= 0);
    }
    explicit Fd(int f) : fd(f) {}
    ~Fd() { ::close(fd); }
};

}  // namespace

TEST_CASE("inflated_debug_file: what naming frames reads equals objcopy's inflation, the rest is left out") {
    DebugFiles files;
    const Fd compressed(files.compressed);
    const auto before = sections_of(compressed.fd);
    REQUIRE(before.at(".debug_info").flags & SHF_COMPRESSED);  // the case under test is exercised

    const std::optional<int> image = inflated_debug_file(compressed.fd, files.build_id);
    REQUIRE(image);
    const Fd inflated(*image);
    const Fd reference(files.reference);
    const auto after = sections_of(inflated.fd);
    const auto expected = sections_of(reference.fd);
    REQUIRE(after.size() == expected.size());
    for (const auto& [name, section] : after) {
        INFO(name);
        CHECK_FALSE(section.flags & SHF_COMPRESSED);
        if (name == ".debug_loclists" || name == ".debug_loc" || name == ".debug_macro") {
            CHECK(section.type == SHT_NOBITS);
            continue;
        }
        CHECK(section.type == expected.at(name).type);
        CHECK(section.bytes == expected.at(name).bytes);
    }
    CHECK(after.count(".debug_info"));
    CHECK(after.count(".symtab"));
    REQUIRE(before.count(".debug_loclists"));  // a section left out is exercised too
    CHECK(before.at(".debug_loclists").flags & SHF_COMPRESSED);
    CHECK(after.at(".debug_loclists").type == SHT_NOBITS);
    // libdw reads it as it reads objcopy's.
    CHECK(compile_units(inflated.fd) == compile_units(reference.fd));
    CHECK(compile_units(inflated.fd) > 0);
}

TEST_CASE("inflated_debug_file: leaves to libdwfl what it should not use") {
    DebugFiles files;
    const Fd compressed(files.compressed);

    SECTION("another build id") {
        std::vector<uint8_t> other = files.build_id;
        other.back() ^= 1;
        CHECK_FALSE(inflated_debug_file(compressed.fd, other));
        CHECK_FALSE(inflated_debug_file(compressed.fd, {}));
    }
    SECTION("nothing compressed") {
        const Fd plain(files.reference);
        CHECK_FALSE(inflated_debug_file(plain.fd, files.build_id));
    }
    SECTION("not ELF, or cut short") {
        const std::filesystem::path source = files.dir / "program.c";
        const Fd text(source);
        CHECK_FALSE(inflated_debug_file(text.fd, files.build_id));
        const std::filesystem::path cut = files.dir / "cut.debug";
        std::filesystem::copy_file(files.compressed, cut);
        std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
        const Fd truncated(cut);
        CHECK_FALSE(inflated_debug_file(truncated.fd, files.build_id));
    }
    SECTION("a corrupt zlib stream") {
        const auto sections = sections_of(compressed.fd);
        const std::string& info = sections.at(".debug_info").bytes;
        const std::string contents = [&] {
            std::ifstream in(files.compressed, std::ios::binary);
            return std::string(std::istreambuf_iterator<char>(in), {});
        }();
        const size_t at = contents.find(info);
        REQUIRE(at != std::string::npos);
        std::string corrupt = contents;
        for (size_t i = at + 40; i < at + info.size() && i < at + 80; ++i) corrupt[i] = static_cast<char>(~corrupt[i]);
        const std::filesystem::path bad = files.dir / "corrupt.debug";
        std::ofstream(bad, std::ios::binary) << corrupt;
        const Fd corrupt_fd(bad);
        CHECK_FALSE(inflated_debug_file(corrupt_fd.fd, files.build_id));
    }
}
