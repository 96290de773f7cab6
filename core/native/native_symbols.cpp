#include "native/native_symbols.hpp"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <memory>

namespace stackscope {

namespace {

constexpr int kMaxInlineDepth = 64;

std::string demangled(const char* name) {
    if (name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        std::unique_ptr<char, decltype(&std::free)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                        &std::free);
        if (status == 0 && out) return out.get();
    }
    return name;
}

std::string module_name(Dwfl_Module* module) {
    const char* name = dwfl_module_info(module, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    return name ? name : "";
}

// A DIE's function name, through its abstract origin (an inline instance names none itself).
std::optional<std::string> die_function_name(Dwarf_Die* die) {
    Dwarf_Attribute attr;
    for (int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name}) {
        if (dwarf_attr_integrate(die, name, &attr)) {
            if (const char* text = dwarf_formstring(&attr)) return demangled(text);
        }
    }
    return std::nullopt;
}

// Where an inline instance was called from: its DW_AT_call_file and DW_AT_call_line.
void call_site(Dwarf_Die* cu, Dwarf_Die* inlined, std::optional<std::string>& file, std::optional<int>& line) {
    Dwarf_Attribute attr;
    Dwarf_Word value = 0;
    file.reset();
    line.reset();
    if (dwarf_attr(inlined, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &value) == 0 && value <= INT32_MAX)
        line = static_cast<int>(value);
    Dwarf_Files* files = nullptr;
    size_t count = 0;
    if (dwarf_attr(inlined, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &value) == 0 &&
        dwarf_getsrcfiles(cu, &files, &count) == 0 && value < count) {
        if (const char* name = dwarf_filesrc(files, value, nullptr, nullptr)) file = name;
    }
}

// The functions inlined at `pc` (innermost first), each with where it is in its source: the
// innermost at the line table's line, each other one where it called the one inside it; and,
// in `outer`, the real function (its DWARF name, and where it called the outermost inline).
struct RealFunction {
    std::optional<std::string> name;
    std::optional<std::string> file;
    std::optional<int> line;
};

std::vector<NativeStackFrame> inline_frames(Dwfl_Module* module, uint64_t pc, const NativeStackFrame& physical,
                                            RealFunction& outer) {
    std::vector<NativeStackFrame> out;
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(module, pc, &bias);
    if (!cu) return out;
    Dwarf_Die* scopes = nullptr;
    const int count = dwarf_getscopes(cu, pc - bias, &scopes);
    if (count <= 0) return out;
    std::unique_ptr<Dwarf_Die, decltype(&std::free)> owned(scopes, &std::free);
    // dwarf_getscopes goes on from an inline instance into its abstract definition's scopes;
    // the instances it is nested in are the concrete tree's scopes around the innermost one.
    Dwarf_Die* chain = nullptr;
    const int depth = dwarf_getscopes_die(&scopes[0], &chain);
    if (depth <= 0) return out;
    std::unique_ptr<Dwarf_Die, decltype(&std::free)> owned_chain(chain, &std::free);
    outer.file = physical.filename;
    outer.line = physical.line;
    for (int i = 0; i < depth && i < kMaxInlineDepth; ++i) {
        const int tag = dwarf_tag(&chain[i]);
        if (tag == DW_TAG_subprogram) {
            outer.name = die_function_name(&chain[i]);
            break;
        }
        if (tag != DW_TAG_inlined_subroutine) continue;
        NativeStackFrame f = physical;
        f.symbol = die_function_name(&chain[i]).value_or("");
        f.offset = 0;
        f.inlined = true;
        f.filename = outer.file;
        f.line = outer.line;
        out.push_back(std::move(f));
        call_site(cu, &chain[i], outer.file, outer.line);
    }
    return out;
}

// A symbol table's name without its version ("memcpy@@GLIBC_2.14").
std::string unversioned(const char* name) {
    const std::string_view text(name);
    return std::string(text.substr(0, text.find('@')));
}

}  // namespace

std::vector<NativeStackFrame> symbolize(Dwfl* dwfl, const PhysicalFrame& frame, bool with_dwarf) {
    NativeStackFrame physical;
    physical.pc = frame.pc;
    const uint64_t pc = frame.lookup_pc();
    Dwfl_Module* module = dwfl_addrmodule(dwfl, pc);
    if (!module) return {physical};
    physical.library = module_name(module);
    GElf_Off offset = 0;
    GElf_Sym symbol;
    if (const char* name = dwfl_module_addrinfo(module, pc, &offset, &symbol, nullptr, nullptr, nullptr)) {
        physical.symbol = demangled(unversioned(name).c_str());
        physical.offset = offset + (frame.pc - pc);
    }
    if (!with_dwarf) return {physical};
    if (Dwfl_Line* line = dwfl_module_getsrc(module, pc)) {
        int number = 0;
        if (const char* file = dwfl_lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr)) {
            physical.filename = file;
            if (number > 0) physical.line = number;
        }
    }
    RealFunction real;
    std::vector<NativeStackFrame> out = inline_frames(module, pc, physical, real);
    // As gdb names it: DWARF's name of the function (not a clone's, .constprop.0, nor an alias).
    if (real.name && !real.name->empty()) physical.symbol = *real.name;
    if (!out.empty()) {
        physical.filename = real.file;
        physical.line = real.line;
    }
    out.push_back(std::move(physical));
    return out;
}

std::string frame_file(Dwfl* dwfl, const PhysicalFrame& frame) {
    Dwfl_Module* module = dwfl_addrmodule(dwfl, frame.lookup_pc());
    return module ? module_name(module) : std::string();
}

std::optional<std::string> covering_symbol(Dwfl* dwfl, const PhysicalFrame& frame) {
    const uint64_t pc = frame.lookup_pc();
    Dwfl_Module* module = dwfl_addrmodule(dwfl, pc);
    if (!module) return std::nullopt;
    GElf_Off offset = 0;
    GElf_Sym symbol;
    const char* name = dwfl_module_addrinfo(module, pc, &offset, &symbol, nullptr, nullptr, nullptr);
    if (!name || offset >= symbol.st_size) return std::nullopt;
    return unversioned(name);
}

}  // namespace stackscope
