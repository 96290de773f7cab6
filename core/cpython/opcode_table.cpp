#include "cpython/opcodes.hpp"

#include <utility>

#include "cpython/versions/opcode_data.hpp"

namespace stackscope {

Op op_for_name(std::string_view name) {
    static constexpr std::pair<std::string_view, Op> names[] = {
        {"CACHE", Op::Cache},
        {"EXTENDED_ARG", Op::ExtendedArg},
        {"NOP", Op::Nop},
        {"POP_TOP", Op::PopTop},
        {"LOAD_CONST", Op::LoadConst},
        {"LOAD_SMALL_INT", Op::LoadSmallInt},
        {"RETURN_CONST", Op::ReturnConst},
        {"COPY", Op::Copy},
        {"SWAP", Op::Swap},
        {"DUP_TOP", Op::DupTop},
        {"ROT_TWO", Op::RotTwo},
        {"CALL", Op::Call},
        {"PRECALL", Op::Precall},
        {"CALL_FUNCTION", Op::CallFunction},
        {"CALL_METHOD", Op::CallMethod},
        {"GET_AWAITABLE", Op::GetAwaitable},
        {"YIELD_FROM", Op::YieldFrom},
        {"YIELD_VALUE", Op::YieldValue},
        {"SEND", Op::Send},
        {"RESUME", Op::Resume},
        {"JUMP_BACKWARD_NO_INTERRUPT", Op::JumpBackwardNoInterrupt},
        {"END_SEND", Op::EndSend},
        {"CLEANUP_THROW", Op::CleanupThrow},
        {"PUSH_EXC_INFO", Op::PushExcInfo},
        {"WITH_EXCEPT_START", Op::WithExceptStart},
        {"WITH_CLEANUP_START", Op::WithCleanupStart},
        {"BEGIN_FINALLY", Op::BeginFinally},
        {"POP_BLOCK", Op::PopBlock},
        {"POP_EXCEPT", Op::PopExcept},
        {"RERAISE", Op::Reraise},
        {"SETUP_FINALLY", Op::SetupFinally},
        {"SETUP_WITH", Op::SetupWith},
        {"SETUP_ASYNC_WITH", Op::SetupAsyncWith},
        {"BEFORE_WITH", Op::BeforeWith},
        {"BEFORE_ASYNC_WITH", Op::BeforeAsyncWith},
        {"LOAD_SPECIAL", Op::LoadSpecial},
        {"STORE_FAST", Op::StoreFast},
        {"STORE_NAME", Op::StoreName},
        {"STORE_GLOBAL", Op::StoreGlobal},
        {"STORE_DEREF", Op::StoreDeref},
        {"STORE_ATTR", Op::StoreAttr},
        {"STORE_SUBSCR", Op::StoreSubscr},
        {"STORE_SLICE", Op::StoreSlice},
        {"UNPACK_SEQUENCE", Op::UnpackSequence},
        {"UNPACK_EX", Op::UnpackEx},
        {"STORE_FAST_STORE_FAST", Op::StoreFastStoreFast},
        {"STORE_FAST_LOAD_FAST", Op::StoreFastLoadFast},
        {"LOAD_FAST", Op::LoadFast},
        {"LOAD_FAST_CHECK", Op::LoadFastCheck},
        {"LOAD_FAST_BORROW", Op::LoadFastBorrow},
        {"LOAD_FAST_LOAD_FAST", Op::LoadFastLoadFast},
        {"LOAD_FAST_BORROW_LOAD_FAST_BORROW", Op::LoadFastBorrowLoadFastBorrow},
        {"LOAD_NAME", Op::LoadName},
        {"LOAD_GLOBAL", Op::LoadGlobal},
        {"LOAD_DEREF", Op::LoadDeref},
        {"LOAD_ATTR", Op::LoadAttr},
        {"LOAD_METHOD", Op::LoadMethod},
        {"BINARY_SUBSCR", Op::BinarySubscr},
        {"BINARY_SLICE", Op::BinarySlice},
        {"BINARY_OP", Op::BinaryOp},
        {"JUMP_FORWARD", Op::JumpForward},
        {"JUMP_ABSOLUTE", Op::JumpAbsolute},
        {"RETURN_VALUE", Op::ReturnValue},
        {"RAISE_VARARGS", Op::RaiseVarargs},
        {"INSTRUMENTED_LINE", Op::InstrumentedLine},
        {"INSTRUMENTED_INSTRUCTION", Op::InstrumentedInstruction},
        {"ENTER_EXECUTOR", Op::EnterExecutor},
    };
    for (const auto& [cpython_name, op] : names) {
        if (cpython_name == name) return op;
    }
    return Op::Other;
}

namespace {

OpcodeTable build_table(const OpcodeData& data) {
    OpcodeTable table;
    table.version = data.version;
    for (int byte = 0; byte < 256; ++byte) table.base[byte] = static_cast<uint8_t>(byte);
    for (const BaseOpcode& b : data.base) {
        table.op[b.number] = op_for_name(b.name);
        table.caches[b.number] = b.caches;
        table.jump[b.number] = b.jump;
    }
    for (const FoldedOpcode& f : data.folded) {
        table.op[f.number] = table.op[f.base];
        table.base[f.number] = f.base;
        table.caches[f.number] = table.caches[f.base];
        table.jump[f.number] = table.jump[f.base];
    }
    table.jumps_in_units = data.jumps_in_units;
    table.binary_op_subscr = data.binary_op_subscr;
    return table;
}

bool is_stand_in(Op op) {
    return op == Op::InstrumentedLine || op == Op::InstrumentedInstruction || op == Op::EnterExecutor;
}

}  // namespace

const OpcodeTable* opcode_table(int major, int minor) {
    if (major != 3) return nullptr;
    switch (minor) {
        case 8: {
            static const OpcodeTable table = build_table(opcode_data_3_8());
            return &table;
        }
        case 9: {
            static const OpcodeTable table = build_table(opcode_data_3_9());
            return &table;
        }
        case 10: {
            static const OpcodeTable table = build_table(opcode_data_3_10());
            return &table;
        }
        case 11: {
            static const OpcodeTable table = build_table(opcode_data_3_11());
            return &table;
        }
        case 12: {
            static const OpcodeTable table = build_table(opcode_data_3_12());
            return &table;
        }
        case 13: {
            static const OpcodeTable table = build_table(opcode_data_3_13());
            return &table;
        }
        case 14: {
            static const OpcodeTable table = build_table(opcode_data_3_14());
            return &table;
        }
        case 15: {
            static const OpcodeTable table = build_table(opcode_data_3_15());
            return &table;
        }
        default: return nullptr;
    }
}

std::vector<Instruction> decode_instructions(std::span<const uint8_t> code, const OpcodeTable& table,
                                             size_t max_instructions, const OriginalOpcode& original) {
    std::vector<Instruction> out;
    // An odd trailing byte is half a code unit: ignored.
    const size_t units = code.size() / 2;
    // Monitoring nests at most INSTRUMENTED_LINE over INSTRUMENTED_INSTRUCTION over the
    // original; the bound keeps a resolver that keeps answering stand-ins from looping.
    constexpr int kMaxResolutions = 4;
    const auto opcode_at = [&](size_t unit) {
        uint8_t byte = code[2 * unit];
        for (int round = 0; original && round < kMaxResolutions && is_stand_in(table.op[byte]); ++round) {
            const std::optional<uint8_t> resolved = original(static_cast<uint32_t>(unit), table.op[byte]);
            if (!resolved) break;
            byte = *resolved;
        }
        return byte;
    };
    size_t unit = 0;
    while (unit < units && out.size() < max_instructions) {
        Instruction ins;
        ins.start = static_cast<uint32_t>(unit);
        uint32_t arg = 0;
        uint8_t byte = opcode_at(unit);
        while (table.op[byte] == Op::ExtendedArg) {
            // Unsigned: a run of more than three prefixes wraps as CPython's own oparg would.
            arg = (arg | code[2 * unit + 1]) << 8;
            if (++unit == units) return out;  // prefixes with no instruction after them
            byte = opcode_at(unit);
        }
        ins.offset = static_cast<uint32_t>(unit);
        ins.arg = arg | code[2 * unit + 1];
        ins.op = table.op[byte];
        if (is_stand_in(ins.op)) {
            // The original opcode, and so the caches that follow, are kept outside the
            // bytecode: the caller resolves it and skips them; here the raw byte is returned
            // and the next unit taken as an instruction.
            ins.opcode = byte;
            ins.next = ins.offset + 1;
        } else {
            ins.opcode = table.base[byte];
            ins.next = ins.offset + 1 + table.caches[byte];
            if (ins.next > units) return out;  // its caches are cut off: truncated
        }
        out.push_back(ins);
        unit = ins.next;
    }
    return out;
}

std::vector<Instruction> decode_instructions(std::span<const uint8_t> code, const OpcodeTable& table,
                                             size_t max_instructions) {
    return decode_instructions(code, table, max_instructions, OriginalOpcode{});
}

}  // namespace stackscope
