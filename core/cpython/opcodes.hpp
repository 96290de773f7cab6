#pragma once
// Per-version opcode knowledge, as data generated from each interpreter's own `opcode` and
// `dis` modules (scripts/gen-opcode-tables.py writes versions/opcodes_3_X.cpp): which base
// instruction an opcode byte stands for once specialised (3.11+) or instrumented (3.12+)
// forms are folded back, and how many inline cache units follow it.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace stackscope {

// The instructions the with-block analysis tells apart, by their base name in CPython.
enum class Op : uint8_t {
    Other,  // any other instruction
    Cache,
    ExtendedArg,
    Nop,
    PopTop,
    LoadConst,
    LoadSmallInt,
    ReturnConst,
    Copy,
    Swap,
    DupTop,
    RotTwo,
    Call,
    Precall,
    CallFunction,
    CallMethod,
    GetAwaitable,
    YieldFrom,
    YieldValue,
    Send,
    Resume,
    JumpBackwardNoInterrupt,
    EndSend,
    CleanupThrow,
    PushExcInfo,
    WithExceptStart,
    WithCleanupStart,
    BeginFinally,
    PopBlock,
    PopExcept,
    Reraise,
    SetupFinally,
    SetupWith,
    SetupAsyncWith,
    BeforeWith,
    BeforeAsyncWith,
    LoadSpecial,
    StoreFast,
    StoreName,
    StoreGlobal,
    StoreDeref,
    StoreAttr,
    StoreSubscr,
    StoreSlice,
    UnpackSequence,
    UnpackEx,
    StoreFastStoreFast,
    StoreFastLoadFast,
    LoadFast,
    LoadFastCheck,
    LoadFastBorrow,
    LoadFastLoadFast,
    LoadFastBorrowLoadFastBorrow,
    LoadName,
    LoadGlobal,
    LoadDeref,
    LoadAttr,
    LoadMethod,
    BinarySubscr,
    BinarySlice,
    BinaryOp,
    JumpForward,
    JumpAbsolute,
    ReturnValue,
    RaiseVarargs,
    // Stand-ins whose original opcode is kept outside the bytecode (3.12+ sys.monitoring's
    // line and instruction events, 3.13+ JIT executors).
    InstrumentedLine,
    InstrumentedInstruction,
    EnterExecutor,
};

enum class JumpKind : uint8_t { None, Relative, Absolute };

struct OpcodeTable {
    std::string_view version;           // the interpreter the data came from, e.g. "3.12.1"
    std::array<Op, 256> op{};           // what each opcode byte stands for (folded to its base)
    std::array<uint8_t, 256> base{};    // the base opcode number of each byte (itself for a base)
    std::array<uint8_t, 256> caches{};  // inline cache units after an instruction with this byte
    bool jumps_in_units = true;         // jump arguments count code units (3.10+), else bytes
    std::array<JumpKind, 256> jump{};   // dis.hasjrel / dis.hasjabs (3.8-3.10 control flow)
    int binary_op_subscr = -1;          // BINARY_OP's oparg for `a[b]` (3.14+), -1 when none
};

// The Op of a base instruction by its CPython name ("LOAD_ATTR"); Op::Other for the rest.
Op op_for_name(std::string_view cpython_name);

// The table for a CPython minor version; nullptr when this build has none.
const OpcodeTable* opcode_table(int major, int minor);

// One instruction of 2-byte code units, its EXTENDED_ARG prefixes folded into it.
struct Instruction {
    uint32_t start = 0;   // first code unit, its first EXTENDED_ARG prefix if any
    uint32_t offset = 0;  // code unit of the opcode itself (as dis numbers it, /2)
    uint32_t next = 0;    // first code unit after it and its inline caches
    uint8_t opcode = 0;   // the base opcode number
    Op op = Op::Other;
    uint32_t arg = 0;  // with EXTENDED_ARG prefixes applied
};

// Decodes `code` (bytes, an even count) into instructions, folding specialised and
// instrumented forms to their base; at most `max_instructions` are returned. Opcodes whose
// original is kept outside the bytecode (Op::Instrumented*, Op::EnterExecutor) are returned
// as they are, with their raw opcode byte and oparg and no caches skipped.
std::vector<Instruction> decode_instructions(std::span<const uint8_t> code, const OpcodeTable& table,
                                             size_t max_instructions);

// The original opcode byte behind the stand-in `op` at code unit `offset`, as the caller reads
// it from outside the bytecode (sys.monitoring's per-line or per-instruction data, the
// executor); nullopt when it cannot tell. It may be another stand-in, which is asked again.
using OriginalOpcode = std::function<std::optional<uint8_t>(uint32_t offset, Op op)>;

// The same, with each stand-in replaced by its original before decoding it: this matters
// when INSTRUMENTED_LINE hides an EXTENDED_ARG prefix (line starts), or an instruction with
// caches. Unresolved stand-ins are returned raw as above.
std::vector<Instruction> decode_instructions(std::span<const uint8_t> code, const OpcodeTable& table,
                                             size_t max_instructions, const OriginalOpcode& original);

}  // namespace stackscope
