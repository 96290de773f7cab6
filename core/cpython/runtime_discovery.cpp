#include "cpython/runtime_discovery.hpp"

#include <cstring>
#include <cctype>
#include <cstdlib>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"
#include "target/mapped_elf.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/versions/debug_offsets.hpp"

namespace stackscope {

namespace {

struct Candidate {
    uint64_t address = 0;
    std::string found_in;
    std::optional<uint64_t> py_version_address;  // Py_Version in the same file
    std::string file_path;
    std::shared_ptr<const ElfFile> file;
    uint64_t load_bias = 0;
};

// Version from a file name such as libpython3.10.so.1.0 or python3.11.
std::optional<std::pair<int, int>> version_from_path(const std::string& path) {
    const std::string name = file_name_of(path);
    for (size_t at = name.find("python"); at != std::string::npos; at = name.find("python", at + 1)) {
        const char* p = name.c_str() + at + 6;
        if (!std::isdigit(static_cast<unsigned char>(p[0])) || p[1] != '.' ||
            !std::isdigit(static_cast<unsigned char>(p[2])))
            continue;
        int minor = 0;
        const char* end = p + 2;
        while (std::isdigit(static_cast<unsigned char>(*end)) && end - (p + 2) < 4) minor = minor * 10 + (*end++ - '0');
        return std::make_pair(p[0] - '0', minor);
    }
    return std::nullopt;
}

std::vector<Candidate> candidates_from_files(RemoteMemory& memory, std::vector<std::string>& unavailable) {
    std::vector<Candidate> out;
    if (auto address = memory.target().lookup_symbol("_PyRuntime")) {
        Candidate c;
        c.address = *address;
        c.found_in = "debugger symbol _PyRuntime";
        if (auto v = memory.target().lookup_symbol("Py_Version")) c.py_version_address = *v;
        out.push_back(c);
    }
    MappedElfs elfs = open_mapped_elfs(memory.target(), may_hold_runtime);
    unavailable = elfs.unavailable;
    for (MappedElf& m : elfs.files) {
        Candidate c;
        c.file_path = m.mapped_path;
        c.load_bias = m.load_bias;
        if (auto v = m.elf->symbol("Py_Version")) c.py_version_address = m.load_bias + v->value;
        if (auto sym = m.elf->symbol("_PyRuntime")) {
            c.address = m.load_bias + sym->value;
            c.found_in = m.mapped_path + " (symbol _PyRuntime)";
        } else if (auto sec = m.elf->section(".PyRuntime")) {
            c.address = m.load_bias + sec->address;
            c.found_in = m.mapped_path + " (section .PyRuntime)";
        } else {
            continue;
        }
        c.file = std::shared_ptr<const ElfFile>(std::move(m.elf));
        // The debugger's _PyRuntime is this file's: the file's own symbols (the builtin
        // types) are then read from it, not asked of the debugger one by one.
        if (!out.empty() && !out.front().file && out.front().address == c.address) {
            out.front().file = c.file;
            out.front().load_bias = c.load_bias;
        }
        out.push_back(c);
    }
    return out;
}

// 3.13+ runtimes start with the _Py_DebugOffsets cookie: find it in writable python mappings
// when no file could tell where _PyRuntime is.
std::vector<Candidate> candidates_from_cookie_scan(RemoteMemory& memory) {
    std::vector<Candidate> out;
    constexpr size_t kChunk = 64 * 1024;
    constexpr uint64_t kMaxScan = 64ull << 20;
    uint64_t scanned = 0;
    std::vector<uint8_t> buffer(kChunk);
    for (const MemoryRegion& r : memory.target().regions()) {
        if (!r.writable || !may_hold_runtime(r.path)) continue;
        for (uint64_t at = r.start; at < r.end && scanned < kMaxScan; at += kChunk) {
            const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, r.end - at));
            const size_t got = memory.read_uncached(at, std::span(buffer.data(), want));
            scanned += want;
            for (size_t off = 0; off + 8 <= got; off += 8) {
                if (starts_with_debug_offsets_cookie(std::span(buffer.data() + off, got - off))) {
                    Candidate c;
                    c.address = at + off;
                    c.found_in = r.path + " (debug offsets cookie)";
                    out.push_back(c);
                }
            }
        }
    }
    return out;
}

std::optional<PythonLayout> guess_layout(RemoteMemory& memory, uint64_t runtime);

PythonLayout layout_of(RemoteMemory& memory, const Candidate& c) {
    uint8_t cookie[kDebugOffsetsCookie.size()] = {};
    const bool has_cookie =
        memory.read_some(c.address, cookie) == sizeof cookie && starts_with_debug_offsets_cookie(cookie);
    std::optional<PythonVersion> version;
    if (has_cookie) {
        version = PythonVersion::from_hex(memory.read_value<uint64_t>(c.address + 8));
    } else if (c.py_version_address) {
        uint32_t hexversion = 0;
        if (memory.read_some(*c.py_version_address, std::span(reinterpret_cast<uint8_t*>(&hexversion), 4)) == 4) {
            version = PythonVersion::from_hex(hexversion);
        }
    }
    if (!version && c.file_path.empty()) {
        if (auto guessed = guess_layout(memory, c.address)) return *guessed;
    }
    if (!version) {
        if (auto from_path = version_from_path(c.file_path)) {
            PythonVersion v;
            v.major = from_path->first;
            v.minor = from_path->second;
            version = v;
        }
    }
    if (!version)
        throw Error(ErrorKind::UnsupportedRuntime, "cannot tell the Python version of the runtime in " + c.found_in);
    auto layout = layout_for(version->major, version->minor);
    if (!layout) {
        throw Error(ErrorKind::UnsupportedRuntime,
                    "Python " + version->str() + " is not supported (found in " + c.found_in + ")");
    }
    layout->version = *version;
    if (layout->has_debug_offsets) {
        std::vector<uint8_t> raw(kDebugOffsetsReadSize);
        raw.resize(memory.read_some(c.address, raw));
        apply_debug_offsets(*layout, raw);
    }
    return *layout;
}

// The runtime is plausible when its first interpreter's first thread points back at it.
bool validate(RemoteMemory& memory, uint64_t runtime, const PythonLayout& l) {
    try {
        const uint64_t interp = memory.read_pointer(runtime + l.runtime_interpreters_head);
        if (interp == 0 || interp % 8 != 0) return false;
        const uint64_t tstate = memory.read_pointer(interp + l.interp_threads_head);
        if (tstate == 0) return true;  // an interpreter with no threads yet (or finalizing)
        return tstate % 8 == 0 && memory.read_pointer(tstate + l.tstate_interp) == interp;
    } catch (const Error&) {
        return false;
    }
}

// validate() read again from the target (bounded): on a running target (--no-block) the first
// thread can exit between the two reads, and its freed thread state no longer points back.
constexpr int kValidationAttempts = 4;
bool validates(RemoteMemory& memory, uint64_t runtime, const PythonLayout& l) {
    for (int attempt = 1;; ++attempt) {
        if (validate(memory, runtime, l)) return true;
        if (attempt == kValidationAttempts) return false;
        memory.clear();
    }
}

// A version taken from a file name lacks the micro version: the main interpreter's
// sys.hexversion has it (3.8-3.10 publish no Py_Version).
// The builtin types sys.hexversion is read through (dict, str keys, int), by symbol.
BuiltinTypes types_for_sys(RemoteMemory& memory, const ElfFile* file, uint64_t load_bias) {
    BuiltinTypes types;
    constexpr BuiltinType kNeeded[] = {BuiltinType::Dict, BuiltinType::Str, BuiltinType::Int};
    resolve_builtin_types_by_symbol(types, memory.target(), file, load_bias, kNeeded);
    return types;
}

void refine_version_from_sys(RemoteMemory& memory, uint64_t runtime, PythonLayout& layout, const BuiltinTypes& types) {
    try {
        ObjectReader objects(memory, layout, types);
        const uint64_t interp = memory.read_pointer(runtime + layout.runtime_interpreters_head);
        const uint64_t sysdict = memory.read_pointer(interp + layout.interp_sysdict);
        if (!sysdict) return;
        const auto hexversion = objects.dict_get(sysdict, "hexversion");
        if (!hexversion) return;
        const PythonVersion v = PythonVersion::from_hex(static_cast<uint64_t>(objects.read_int(*hexversion)));
        if (v.major == layout.version.major && v.minor == layout.version.minor) layout.version = v;
    } catch (const Error&) {
        // the file name's version stands
    }
}

// A runtime known only by its address (a debugger's symbol, no file name, no Py_Version:
// 3.8-3.10): the table whose reading of it validates and whose sys.hexversion agrees with it.
std::optional<PythonLayout> guess_layout(RemoteMemory& memory, uint64_t runtime) {
    std::optional<BuiltinTypes> types;  // asked of the debugger once, when a layout validates
    for (PythonLayout& layout : all_layouts()) {
        if (layout.has_debug_offsets || !validate(memory, runtime, layout)) continue;
        if (!types) types = types_for_sys(memory, nullptr, 0);
        refine_version_from_sys(memory, runtime, layout, *types);
        if (layout.version.micro >= 0) return layout;
    }
    return std::nullopt;
}

}  // namespace

bool may_hold_runtime(const std::string& path) {
    const std::string name = file_name_of(path);
    return name.rfind("python", 0) == 0 || name.rfind("libpython", 0) == 0;
}

PythonRuntime discover_runtime(RemoteMemory& memory) {
    std::vector<std::string> unavailable;
    std::optional<Error> first_error;
    // The files' symbols first; a 3.13+ runtime's cookie when no file tells (or, with a file
    // from another build forced on a core, when what it tells is wrong).
    for (const bool scan : {false, true}) {
        const std::vector<Candidate> candidates =
            scan ? candidates_from_cookie_scan(memory) : candidates_from_files(memory, unavailable);
        for (const Candidate& c : candidates) {
            try {
                PythonLayout layout = layout_of(memory, c);
                if (validates(memory, c.address, layout)) {
                    if (layout.version.micro < 0)
                        refine_version_from_sys(memory, c.address, layout,
                                                types_for_sys(memory, c.file.get(), c.load_bias));
                    return PythonRuntime{c.address, layout, c.found_in, c.file, c.load_bias};
                }
                if (!first_error) {
                    first_error =
                        Error(ErrorKind::UnsupportedRuntime, "the Python runtime at " + hex(c.address) + " in " +
                                                                 c.found_in + " does not look initialised");
                }
            } catch (const Error& e) {
                if (!first_error) first_error = e;
            }
        }
    }
    if (first_error) throw *first_error;
    std::string message = "no Python runtime found in process " + std::to_string(memory.target().pid());
    if (!unavailable.empty()) {
        message += "; these files are needed but unavailable: " + unavailable.front();
        for (size_t i = 1; i < unavailable.size() && i < 4; ++i) message += ", " + unavailable[i];
        message += " (point --executable at the interpreter and --lib-search-path at the directory of its libraries)";
    }
    throw Error(ErrorKind::UnsupportedRuntime, message);
}

}  // namespace stackscope
