#pragma once
// The opcode data of one CPython minor version, as scripts/gen-opcode-tables.py takes it from
// that interpreter's own opcode and dis modules (versions/opcodes_3_X.cpp); opcode_table.cpp
// turns it into an OpcodeTable.
#include <cstdint>
#include <span>
#include <string_view>

#include "cpython/opcodes.hpp"

namespace stackscope {

struct BaseOpcode {
    uint8_t number;
    std::string_view name;  // as CPython spells it, e.g. "LOAD_ATTR"
    uint8_t caches;         // inline cache units after it
    JumpKind jump;          // dis.hasjrel / dis.hasjabs
};

// A specialised (3.11+) or instrumented (3.12+) form, which shares its base's caches.
struct FoldedOpcode {
    uint8_t number;
    std::string_view name;
    uint8_t base;  // the number of its base opcode
};

struct OpcodeData {
    std::string_view version;
    std::span<const BaseOpcode> base;
    std::span<const FoldedOpcode> folded;
    bool jumps_in_units;
    int binary_op_subscr;
};

const OpcodeData& opcode_data_3_8();
const OpcodeData& opcode_data_3_9();
const OpcodeData& opcode_data_3_10();
const OpcodeData& opcode_data_3_11();
const OpcodeData& opcode_data_3_12();
const OpcodeData& opcode_data_3_13();
const OpcodeData& opcode_data_3_14();
const OpcodeData& opcode_data_3_15();

}  // namespace stackscope
