#include "native/frame_stacks.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <memory>
#include <optional>

namespace stackscope {

namespace {

constexpr uint64_t kRegisterSize = 8;

std::optional<uint64_t> read_word(RemoteMemory& memory, uint64_t address) {
    try {
        uint64_t value = 0;
        if (memory.read_some(address, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(value))) == sizeof(value))
            return value;
    } catch (const std::exception&) {}
    return std::nullopt;
}

struct Registers {
    uint64_t sp = 0;
    std::optional<uint64_t> bp;
};

// The frame's unwind rule at pc, from .eh_frame, else .debug_frame (libdwfl's order).
std::unique_ptr<Dwarf_Frame, decltype(&std::free)> cfi_frame(Dwfl_Module* module, uint64_t pc) {
    Dwarf_Frame* frame = nullptr;
    Dwarf_Addr bias = 0;
    if (Dwarf_CFI* cfi = dwfl_module_eh_cfi(module, &bias); cfi && dwarf_cfi_addrframe(cfi, pc - bias, &frame) == 0)
        return {frame, &std::free};
    if (Dwarf_CFI* cfi = dwfl_module_dwarf_cfi(module, &bias); cfi && dwarf_cfi_addrframe(cfi, pc - bias, &frame) == 0)
        return {frame, &std::free};
    return {nullptr, &std::free};
}

// The caller's sp (the frame's CFA) and rbp; nullopt when the rule is not one followed here.
std::optional<Registers> caller_registers(Dwfl* dwfl, RemoteMemory& memory, const PhysicalFrame& f,
                                          const Registers& regs) {
    const uint64_t pc = f.lookup_pc();
    Dwfl_Module* module = dwfl_addrmodule(dwfl, pc);
    const auto frame = module ? cfi_frame(module, pc) : decltype(cfi_frame(module, pc)){nullptr, &std::free};
    if (!frame) {
        // libdwfl's fallback: the frame-pointer chain.
        if (!regs.bp) return std::nullopt;
        return Registers{*regs.bp + 2 * kRegisterSize, read_word(memory, *regs.bp)};
    }
    Dwarf_Op* ops = nullptr;
    size_t count = 0;
    if (dwarf_frame_cfa(frame.get(), &ops, &count) != 0 || count != 1) return std::nullopt;
    uint64_t reg = 0, offset = 0;
    if (ops[0].atom == DW_OP_bregx) {
        reg = ops[0].number;
        offset = ops[0].number2;
    } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
        reg = ops[0].atom - DW_OP_breg0;
        offset = ops[0].number;
    } else {
        return std::nullopt;
    }
    std::optional<uint64_t> base;
    if (reg == kDwarfRsp) base = regs.sp;
    if (reg == kDwarfRbp) base = regs.bp;
    if (!base) return std::nullopt;
    Registers caller{*base + offset, std::nullopt};

    Dwarf_Op ops_mem[3];
    Dwarf_Op* rule = nullptr;
    size_t rule_count = 0;
    if (dwarf_frame_register(frame.get(), kDwarfRbp, ops_mem, &rule, &rule_count) != 0) return caller;
    if (rule_count == 0) {
        caller.bp = regs.bp;  // the same value (or undefined: nothing uses it then)
    } else if (rule[0].atom == DW_OP_call_frame_cfa &&
               (rule_count == 1 || (rule_count == 2 && rule[1].atom == DW_OP_plus_uconst))) {
        caller.bp = read_word(memory, caller.sp + (rule_count == 2 ? rule[1].number : 0));
    }
    return caller;
}

}  // namespace

std::vector<StackRange> frame_stacks(Dwfl* dwfl, RemoteMemory& memory,
                                     const std::array<uint64_t, kDwarfRegisterCount>& registers,
                                     std::span<const PhysicalFrame> frames) {
    std::vector<StackRange> out(frames.size());
    Registers regs{registers[kDwarfRsp], registers[kDwarfRbp]};
    for (size_t i = 0; i < frames.size(); ++i) {
        if (i + 1 == frames.size()) {
            out[i] = {regs.sp, UINT64_MAX};
            break;
        }
        const std::optional<Registers> caller = caller_registers(dwfl, memory, frames[i], regs);
        // The step agrees with libdwfl's only if the return address it found is where the CFA says.
        if (!caller || caller->sp < regs.sp || frames[i + 1].activation ||
            read_word(memory, caller->sp - kRegisterSize) != frames[i + 1].pc)
            break;
        out[i] = {regs.sp, caller->sp};
        regs = *caller;
    }
    return out;
}

}  // namespace stackscope
