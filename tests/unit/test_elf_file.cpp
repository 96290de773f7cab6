// Tests for core/elf_file.hpp against real files: the system libc, a tiny program compiled
// at test time, this test binary, and (when installed) pyenv's libpython 3.12. Expected values
// come from `readelf` run at test time, never from ElfFile itself.
#include <catch2/catch.hpp>

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "target/elf_file.hpp"
#include "stackscope/error.hpp"
#include "target/proc_maps.hpp"
#include "command_output.hpp"

using stackscope::ElfFile;
using stackscope::Error;
using stackscope::ErrorKind;

extern "C" __attribute__((noinline, used)) int stackscope_test_elf_marker_function(int x) { return x * 3 + 1; }

namespace {

using stackscope::test::command_output;

const char* const kLibc = "/usr/lib/x86_64-linux-gnu/libc.so.6";

uint64_t parse_number(const std::string& s) {
    if (s.rfind("0x", 0) == 0) return std::stoull(s.substr(2), nullptr, 16);
    return std::stoull(s, nullptr, 10);
}

struct ReadelfSymbol {
    uint64_t value, size;
    std::string ndx;
};

// Defined symbols of one table ("dynsym" or "symtab") from `readelf -Ws`, by name without
// version suffix; names defined more than once are dropped (ElfFile returns the first).
std::map<std::string, ReadelfSymbol> readelf_symbols(const std::string& path, const std::string& table) {
    const std::string text = command_output("readelf -Ws '" + path + "' 2>/dev/null");
    std::map<std::string, ReadelfSymbol> out;
    std::set<std::string> duplicates;
    std::istringstream in(text);
    std::string line;
    bool in_table = false;
    static const std::regex row(R"(^\s*\d+:\s+([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)\s*$)");
    while (std::getline(in, line)) {
        if (line.rfind("Symbol table '", 0) == 0) {
            in_table = line.find("'." + table + "'") != std::string::npos;
            continue;
        }
        std::smatch m;
        if (!in_table || !std::regex_match(line, m, row)) continue;
        std::string name = m[4];
        const size_t at = name.find('@');
        if (at != std::string::npos) name.resize(at);
        const ReadelfSymbol sym{std::stoull(m[1], nullptr, 16), parse_number(m[2]), m[3]};
        if (sym.ndx == "UND" || sym.value == 0 || name.empty()) continue;
        if (!out.emplace(name, sym).second) duplicates.insert(name);
    }
    for (const std::string& d : duplicates) out.erase(d);
    return out;
}

struct ReadelfSection {
    uint64_t address, offset, size;
};

std::map<std::string, ReadelfSection> readelf_sections(const std::string& path) {
    const std::string text = command_output("readelf -SW '" + path + "' 2>/dev/null");
    std::map<std::string, ReadelfSection> out;
    static const std::regex row(R"(^\s*\[\s*[1-9]\d*\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s)");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, row)) continue;
        out.emplace(m[1], ReadelfSection{std::stoull(m[2], nullptr, 16), std::stoull(m[3], nullptr, 16),
                                         std::stoull(m[4], nullptr, 16)});
    }
    return out;
}

struct ReadelfSegment {
    std::string type;
    uint64_t offset, vaddr, file_size, mem_size, align;
    uint32_t flags;
};

std::vector<ReadelfSegment> readelf_segments(const std::string& path) {
    const std::string text = command_output("readelf -lW '" + path + "' 2>/dev/null");
    std::vector<ReadelfSegment> out;
    static const std::regex row(R"(^\s*([A-Z_0-9+x]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+)"
                                R"(0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+([RWE ]+?)\s+0x([0-9a-f]+)\s*$)");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_match(line, m, row)) continue;
        ReadelfSegment s;
        s.type = m[1];
        s.offset = std::stoull(m[2], nullptr, 16);
        s.vaddr = std::stoull(m[3], nullptr, 16);
        s.file_size = std::stoull(m[4], nullptr, 16);
        s.mem_size = std::stoull(m[5], nullptr, 16);
        const std::string flags = m[6];
        s.flags = (flags.find('R') != std::string::npos ? PF_R : 0) |
                  (flags.find('W') != std::string::npos ? PF_W : 0) | (flags.find('E') != std::string::npos ? PF_X : 0);
        s.align = std::stoull(m[7], nullptr, 16);
        out.push_back(s);
    }
    return out;
}

std::optional<std::string> readelf_build_id(const std::string& path) {
    const std::string text = command_output("readelf -n '" + path + "' 2>/dev/null");
    static const std::regex row(R"(Build ID:\s*([0-9a-f]+))");
    std::smatch m;
    if (std::regex_search(text, m, row)) return m[1].str();
    return std::nullopt;
}

std::optional<uint32_t> segment_type_code(const std::string& name) {
    static const std::map<std::string, uint32_t> codes = {
        {"NULL", PT_NULL},
        {"LOAD", PT_LOAD},
        {"DYNAMIC", PT_DYNAMIC},
        {"INTERP", PT_INTERP},
        {"NOTE", PT_NOTE},
        {"PHDR", PT_PHDR},
        {"TLS", PT_TLS},
        {"GNU_EH_FRAME", PT_GNU_EH_FRAME},
        {"GNU_STACK", PT_GNU_STACK},
        {"GNU_RELRO", PT_GNU_RELRO},
        {"GNU_PROPERTY", 0x6474e553},
    };
    auto it = codes.find(name);
    if (it == codes.end()) return std::nullopt;
    return it->second;
}

void check_segments_match_readelf(const ElfFile& elf) {
    const std::vector<ReadelfSegment> expected = readelf_segments(elf.path());
    REQUIRE(!expected.empty());
    REQUIRE(elf.segments().size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        INFO("segment " << i << " (" << expected[i].type << ")");
        const auto& got = elf.segments()[i];
        if (auto code = segment_type_code(expected[i].type)) CHECK(got.type == *code);
        CHECK(got.file_offset == expected[i].offset);
        CHECK(got.vaddr == expected[i].vaddr);
        CHECK(got.file_size == expected[i].file_size);
        CHECK(got.mem_size == expected[i].mem_size);
        CHECK(got.flags == expected[i].flags);
        CHECK(got.align == expected[i].align);
    }
}

void check_sections_match_readelf(const ElfFile& elf) {
    const auto expected = readelf_sections(elf.path());
    REQUIRE(expected.size() > 10);
    for (const auto& [name, sec] : expected) {
        INFO("section " << name);
        const auto got = elf.section(name);
        REQUIRE(got);
        CHECK(got->address == sec.address);
        CHECK(got->file_offset == sec.offset);
        CHECK(got->size == sec.size);
    }
    CHECK_FALSE(elf.section(".no_such_section"));
    CHECK_FALSE(elf.section(""));
    CHECK_FALSE(elf.section(".tex"));  // prefix of .text
}

// Checks an evenly spread sample of a table's symbols (plus `must_have`) against readelf.
void check_symbols_match_readelf(const ElfFile& elf, const std::string& table,
                                 const std::vector<std::string>& must_have) {
    const auto expected = readelf_symbols(elf.path(), table);
    REQUIRE(expected.size() > 20);
    const size_t step = std::max<size_t>(1, expected.size() / 150);
    size_t i = 0, checked = 0;
    for (const auto& [name, sym] : expected) {
        const bool wanted = std::find(must_have.begin(), must_have.end(), name) != must_have.end();
        if (i++ % step != 0 && !wanted) continue;
        INFO(table << " symbol " << name);
        const auto got = elf.symbol(name);
        REQUIRE(got);
        CHECK(got->value == sym.value);
        CHECK(got->size == sym.size);
        ++checked;
    }
    for (const std::string& name : must_have) {
        INFO("required symbol " << name);
        CHECK(expected.count(name) == 1);
    }
    CHECK(checked >= std::min<size_t>(expected.size(), 100));
}

std::string self_exe() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    REQUIRE(n > 0);
    return std::string(buf, static_cast<size_t>(n));
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/stackscope-elf-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::optional<std::string> pyenv_libpython(const std::string& minor) {
    std::string root;
    if (const char* env = std::getenv("PYENV_ROOT"); env && *env) root = env;
    if (root.empty()) {
        root = command_output("pyenv root 2>/dev/null");
        while (!root.empty() && (root.back() == '\n' || root.back() == ' ')) root.pop_back();
    }
    if (root.empty()) return std::nullopt;
    const std::string listing = command_output("ls -1d '" + root + "'/versions/" + minor + ".*/lib/libpython" + minor +
                                               ".so.1.0 2>/dev/null | head -1");
    std::string path = listing.substr(0, listing.find('\n'));
    if (path.empty() || ::access(path.c_str(), R_OK) != 0) return std::nullopt;
    return path;
}

}  // namespace

TEST_CASE("ElfFile reads the system libc like readelf does", "[elf]") {
    REQUIRE(::access(kLibc, R_OK) == 0);
    ElfFile elf(kLibc);
    CHECK(elf.path() == kLibc);
    CHECK(elf.type() == ET_DYN);
    CHECK(elf.is_position_independent());

    struct stat st {};
    REQUIRE(::stat(kLibc, &st) == 0);
    CHECK(elf.file_size() == static_cast<uint64_t>(st.st_size));
    REQUIRE(elf.data() != nullptr);
    CHECK(std::string(reinterpret_cast<const char*>(elf.data()), 4) ==
          "\x7f"
          "ELF");

    SECTION("dynamic symbols") {
        check_symbols_match_readelf(elf, "dynsym", {"malloc", "free", "printf"});
        CHECK_FALSE(elf.symbol("no_such_symbol_in_libc"));
        CHECK_FALSE(elf.symbol("mallo"));  // prefix of malloc
        CHECK_FALSE(elf.symbol(""));
    }
    SECTION("sections") { check_sections_match_readelf(elf); }
    SECTION("segments and first_load_vaddr") {
        check_segments_match_readelf(elf);
        const auto segments = readelf_segments(kLibc);
        for (const auto& s : segments) {
            if (s.type == "LOAD") {
                CHECK(elf.first_load_vaddr() == s.vaddr - s.offset);
                break;
            }
        }
    }
    SECTION("build id and notes") {
        const auto expected = readelf_build_id(kLibc);
        REQUIRE(expected);
        const auto got = elf.build_id();
        REQUIRE(got);
        CHECK(*got == *expected);
        bool abi_tag = false;
        for (const auto& note : elf.notes())
            abi_tag |= note.type == NT_GNU_ABI_TAG && note.name == "GNU" && note.desc.size() == 16;
        CHECK(abi_tag);
    }
    SECTION("read_at") {
        const auto text = elf.section(".text");
        REQUIRE(text);
        std::vector<uint8_t> buf(64);
        REQUIRE(elf.read_at(text->file_offset, buf.data(), buf.size()) == buf.size());
        CHECK(std::equal(buf.begin(), buf.end(), elf.data() + text->file_offset));
        CHECK(elf.read_at(elf.file_size() - 10, buf.data(), buf.size()) == 10);
        CHECK(elf.read_at(elf.file_size(), buf.data(), buf.size()) == 0);
        CHECK(elf.read_at(UINT64_MAX - 4, buf.data(), buf.size()) == 0);
    }
}

TEST_CASE("ElfFile on a program compiled at test time", "[elf]") {
    TempDir dir;
    const std::string src = dir.path + "/tiny.cpp";
    write_file(
        src,
        "extern \"C\" {\n"
        "extern const char stackscope_marker[37];\n"
        "__attribute__((used)) const char stackscope_marker[37] = \"stackscope-marker-0123456789abcdefgh\";\n"
        "extern const char stackscope_tag[16];\n"
        "__attribute__((used, section(\".stackscope_test\"))) const char stackscope_tag[16] = \"tagged-section!\";\n"
        "__attribute__((used, noinline)) static int hidden_helper(int x) { return x + 7; }\n"
        "int main() { return hidden_helper(stackscope_marker[0]) == 0; }\n"
        "}\n");
    const std::string build_id = "0123456789abcdef0123456789abcdef01234567";
    const std::string exe = dir.path + "/tiny";
    const std::string compile = "c++ -O1 -no-pie -fno-pie -o '" + exe + "' '" + src + "' -Wl,--build-id=0x" + build_id +
                                " > '" + dir.path + "/cc.log' 2>&1";
    INFO("compile: " << compile);
    REQUIRE(std::system(compile.c_str()) == 0);

    ElfFile elf(exe);
    CHECK(elf.type() == ET_EXEC);
    CHECK_FALSE(elf.is_position_independent());
    REQUIRE(elf.build_id());
    CHECK(*elf.build_id() == build_id);
    check_segments_match_readelf(elf);
    check_sections_match_readelf(elf);
    // Non-PIE x86-64 executables are linked at 0x400000, mapped from file offset 0.
    CHECK(elf.first_load_vaddr() == 0x400000);

    // A data symbol with a known size, and a static function only present in .symtab.
    const auto symtab = readelf_symbols(exe, "symtab");
    const auto marker = elf.symbol("stackscope_marker");
    REQUIRE(marker);
    CHECK(marker->size == 37);
    REQUIRE(symtab.count("stackscope_marker"));
    CHECK(marker->value == symtab.at("stackscope_marker").value);
    REQUIRE(symtab.count("_ZL13hidden_helperi") + symtab.count("hidden_helper") == 1);
    const std::string helper_name = symtab.count("hidden_helper") ? "hidden_helper" : "_ZL13hidden_helperi";
    const auto helper = elf.symbol(helper_name);
    REQUIRE(helper);
    CHECK(helper->value == symtab.at(helper_name).value);
    CHECK(readelf_symbols(exe, "dynsym").count(helper_name) == 0);  // so it came from .symtab

    // The marker's bytes through the symbol value: find its file offset through the LOAD segments.
    std::optional<uint64_t> marker_offset;
    for (const auto& s : elf.segments()) {
        if (s.type == PT_LOAD && s.vaddr <= marker->value && marker->value < s.vaddr + s.file_size) {
            marker_offset = s.file_offset + (marker->value - s.vaddr);
        }
    }
    REQUIRE(marker_offset);
    char text[37] = {};
    REQUIRE(elf.read_at(*marker_offset, text, sizeof text) == sizeof text);
    CHECK(std::string(text) == "stackscope-marker-0123456789abcdefgh");

    // A custom section's contents through section().
    const auto tag = elf.section(".stackscope_test");
    REQUIRE(tag);
    CHECK(tag->size == 16);
    char tag_text[16] = {};
    REQUIRE(elf.read_at(tag->file_offset, tag_text, sizeof tag_text) == sizeof tag_text);
    CHECK(std::string(tag_text) == "tagged-section!");
}

TEST_CASE("ElfFile finds this test binary's own functions in .symtab", "[elf]") {
    const std::string exe = self_exe();
    ElfFile elf(exe);
    const auto sym = elf.symbol("stackscope_test_elf_marker_function");
    REQUIRE(sym);
    CHECK(sym->size > 0);

    // Where this binary's offset 0 is mapped, from /proc/self/maps.
    std::ifstream maps("/proc/self/maps");
    std::stringstream text;
    text << maps.rdbuf();
    std::optional<uint64_t> base;
    for (const auto& r : stackscope::parse_proc_maps(text.str())) {
        if (r.path == exe && r.file_offset == 0) {
            base = r.start;
            break;
        }
    }
    REQUIRE(base);
    const uint64_t bias = elf.is_position_independent() ? *base - elf.first_load_vaddr() : 0;
    CHECK(bias + sym->value == reinterpret_cast<uint64_t>(&stackscope_test_elf_marker_function));
    CHECK(stackscope_test_elf_marker_function(2) == 7);
}

TEST_CASE("ElfFile on pyenv's libpython 3.12: _PyRuntime and .PyRuntime", "[elf]") {
    const auto path = pyenv_libpython("3.12");
    // The machine has pyenv's 3.8-3.13 (README): a missing one is a failure, not a quiet pass.
    if (!path) FAIL("pyenv's libpython3.12.so.1.0 not found ($PYENV_ROOT / `pyenv root`)");
    ElfFile elf(*path);
    const auto runtime = elf.symbol("_PyRuntime");
    REQUIRE(runtime);
    const auto dyn = readelf_symbols(*path, "dynsym");
    REQUIRE(dyn.count("_PyRuntime"));
    CHECK(runtime->value == dyn.at("_PyRuntime").value);
    CHECK(runtime->size == dyn.at("_PyRuntime").size);

    const auto section = elf.section(".PyRuntime");
    REQUIRE(section);
    const auto sections = readelf_sections(*path);
    REQUIRE(sections.count(".PyRuntime"));
    CHECK(section->address == sections.at(".PyRuntime").address);
    CHECK(section->size == sections.at(".PyRuntime").size);
    CHECK(section->file_offset == sections.at(".PyRuntime").offset);
    CHECK(section->address == runtime->value);  // _PyRuntime is the section's only object

    const auto version = elf.symbol("Py_Version");
    REQUIRE(version);
    CHECK(version->size == dyn.at("Py_Version").size);

    const auto symtab = readelf_symbols(*path, "symtab");
    if (!symtab.empty()) check_symbols_match_readelf(elf, "symtab", {});
}

TEST_CASE("ElfFile rejects files that are not 64-bit ELF", "[elf]") {
    TempDir dir;
    auto expect_invalid = [](const std::string& path, const std::string& why) {
        INFO(path);
        try {
            ElfFile elf(path);
            FAIL("opened " << path);
        } catch (const Error& e) {
            // A missing file is no target at all; every other file here is bad input.
            CHECK(e.kind() == (why == "No such file or directory" ? ErrorKind::NoSuchTarget : ErrorKind::BadInput));
            CHECK_THAT(e.what(), Catch::Contains(path));
            if (!why.empty()) CHECK_THAT(e.what(), Catch::Contains(why));
        }
    };

    SECTION("a text file") {
        write_file(dir.path + "/text", std::string(4096, 'x'));
        expect_invalid(dir.path + "/text", "not a 64-bit ELF");
    }
    SECTION("a file too small to hold an ELF header") {
        write_file(dir.path + "/small", std::string("\x7f"
                                                    "ELF\x02\x01\x01",
                                                    7));
        expect_invalid(dir.path + "/small", "too small");
    }
    SECTION("an empty file") {
        write_file(dir.path + "/empty", "");
        expect_invalid(dir.path + "/empty", "too small");
    }
    SECTION("a directory") { expect_invalid(dir.path, "not a regular file"); }
    SECTION("a missing file") { expect_invalid(dir.path + "/missing", "No such file or directory"); }
    SECTION("a 32-bit ELF header") {
        std::string header(64, '\0');
        header.replace(0, 7,
                       std::string("\x7f"
                                   "ELF\x01\x01\x01",
                                   7));
        header[16] = 2;  // ET_EXEC
        header[18] = 3;  // EM_386
        header[20] = 1;  // EV_CURRENT
        write_file(dir.path + "/elf32", header);
        expect_invalid(dir.path + "/elf32", "not a 64-bit ELF");
    }
}

TEST_CASE("ElfFile on a truncated copy of libc does not crash", "[elf]") {
    TempDir dir;
    std::ifstream in(kLibc, std::ios::binary);
    std::string head(8192, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    REQUIRE(in.gcount() == 8192);
    const std::string path = dir.path + "/libc-head";
    write_file(path, head);
    // Either refused, or opened with whatever the first 8 KiB hold.
    try {
        ElfFile elf(path);
        CHECK(elf.file_size() == 8192);
        CHECK_FALSE(elf.symbol("malloc"));  // .dynsym lies past the end
        CHECK_FALSE(elf.section(".text"));  // so do the section headers
        (void)elf.build_id();               // the notes are in the first page: fine either way
        CHECK(elf.first_load_vaddr() == 0);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::BadInput);
    }
}
