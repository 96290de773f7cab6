// Tests for cpython/opcodes.hpp: the generated opcode tables and the decoder are checked against
// what each interpreter's own dis module says of its bytecode, raw and quickened
// (tests/unit/fixtures/dis_3.X.json, written by tests/unit/fixtures/make_dis_fixtures.py),
// plus hand-made truncated and garbage input.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cpython/opcodes.hpp"

using stackscope::decode_instructions;
using stackscope::Instruction;
using stackscope::Op;
using stackscope::op_for_name;
using stackscope::opcode_table;
using stackscope::OpcodeTable;
using stackscope::OriginalOpcode;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

namespace {

constexpr int kFirstMinor = 8;
constexpr int kLastMinor = 15;
constexpr size_t kNoLimit = 1'000'000;

json load_fixture(int minor) {
    const std::string path = std::string(STACKSCOPE_FIXTURES) + "/dis_3." + std::to_string(minor) + ".json";
    std::ifstream in(path);
    INFO("fixture file " << path << " (regenerate with tests/unit/fixtures/make_dis_fixtures.py)");
    REQUIRE(in.good());
    json doc = json::parse(in);
    REQUIRE(doc["python"].get<std::string>().rfind("3." + std::to_string(minor) + ".", 0) == 0);
    REQUIRE(!doc["code_objects"].empty());
    return doc;
}

Bytes from_hex(const std::string& hex) {
    REQUIRE(hex.size() % 2 == 0);
    Bytes out;
    for (size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

const OpcodeTable& table_for(int minor) {
    const OpcodeTable* table = opcode_table(3, minor);
    REQUIRE(table != nullptr);
    return *table;
}

// The byte of a base instruction by its Op, if the version has one.
std::optional<uint8_t> byte_of(const OpcodeTable& table, Op op) {
    for (int byte = 0; byte < 256; ++byte) {
        if (table.op[byte] == op && table.base[byte] == byte) return static_cast<uint8_t>(byte);
    }
    return std::nullopt;
}

// Decodes `code` and compares it with dis's instructions of the fixture.
void check_against_dis(const Bytes& code, const json& expected, const OpcodeTable& table,
                       const stackscope::OriginalOpcode& original = {}) {
    const std::vector<Instruction> got = decode_instructions(code, table, kNoLimit, original);
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
        const json& e = expected[i];
        const std::string opname = e[2].get<std::string>();
        INFO("instruction " << i << ": " << e.dump());
        CHECK(got[i].start == e[0].get<uint32_t>());
        CHECK(got[i].offset == e[1].get<uint32_t>());
        CHECK(got[i].opcode == e[3].get<int>());
        CHECK(got[i].op == op_for_name(opname));
        CHECK(got[i].arg == (e[4].is_null() ? 0u : e[4].get<uint32_t>()));
        const uint32_t next = i + 1 < got.size() ? expected[i + 1][0].get<uint32_t>() : code.size() / 2;
        CHECK(got[i].next == next);
    }
}

// Checks the decoder's invariants on any input: instructions tile the code units they cover
// and never reach past the input.
void check_invariants(const Bytes& code, const OpcodeTable& table, size_t max_instructions) {
    // A buffer of exactly the input's size, so that the sanitizer build catches over-reads.
    const auto exact = std::make_unique<uint8_t[]>(code.size() + (code.empty() ? 1 : 0));
    std::copy(code.begin(), code.end(), exact.get());
    const std::vector<Instruction> got =
        decode_instructions(std::span<const uint8_t>(exact.get(), code.size()), table, max_instructions);
    REQUIRE(got.size() <= max_instructions);
    uint32_t unit = 0;
    for (const Instruction& ins : got) {
        REQUIRE(ins.start == unit);
        REQUIRE(ins.start <= ins.offset);
        REQUIRE(ins.offset < ins.next);
        REQUIRE(ins.next <= code.size() / 2);
        unit = ins.next;
    }
}

}  // namespace

TEST_CASE("opcode tables exist for CPython 3.8 to 3.15 only", "[opcodes]") {
    for (int minor = kFirstMinor; minor <= kLastMinor; ++minor) {
        const OpcodeTable& table = table_for(minor);
        INFO("3." << minor << " table from " << table.version);
        CHECK(table.version.starts_with("3." + std::to_string(minor) + "."));
        CHECK(table.jumps_in_units == (minor >= 10));
        CHECK((table.binary_op_subscr >= 0) == (minor >= 14));
        CHECK(byte_of(table, Op::ExtendedArg).has_value());
        CHECK(table.op[table.base[*byte_of(table, Op::ExtendedArg)]] == Op::ExtendedArg);
    }
    CHECK(opcode_table(3, 7) == nullptr);
    CHECK(opcode_table(3, 16) == nullptr);
    CHECK(opcode_table(2, 7) == nullptr);
    CHECK(opcode_table(4, 0) == nullptr);
    CHECK(opcode_table(3, 12) == opcode_table(3, 12));  // built once
}

TEST_CASE("opcode tables know the with-statement instructions of each version", "[opcodes]") {
    for (int minor = kFirstMinor; minor <= kLastMinor; ++minor) {
        const OpcodeTable& table = table_for(minor);
        INFO("3." << minor);
        CHECK(byte_of(table, Op::SetupWith).has_value() == (minor <= 10));
        CHECK(byte_of(table, Op::WithCleanupStart).has_value() == (minor <= 8));
        CHECK(byte_of(table, Op::BeforeWith).has_value() == (minor >= 11 && minor <= 13));
        CHECK(byte_of(table, Op::LoadSpecial).has_value() == (minor >= 14));
        CHECK(byte_of(table, Op::LoadSmallInt).has_value() == (minor >= 14));
        CHECK(byte_of(table, Op::WithExceptStart).has_value() == (minor >= 9));
        CHECK(byte_of(table, Op::InstrumentedLine).has_value() == (minor >= 12));
        CHECK(byte_of(table, Op::InstrumentedInstruction).has_value() == (minor >= 12));
        CHECK(byte_of(table, Op::EnterExecutor).has_value() == (minor >= 13));
        CHECK(byte_of(table, Op::Cache).has_value() == (minor >= 11));
    }
    // Spot checks of the cache counts CPython's own tables give.
    CHECK(table_for(11).caches[*byte_of(table_for(11), Op::LoadAttr)] == 4);
    CHECK(table_for(11).caches[*byte_of(table_for(11), Op::LoadMethod)] == 10);
    CHECK(table_for(12).caches[*byte_of(table_for(12), Op::LoadAttr)] == 9);
    CHECK(table_for(14).caches[*byte_of(table_for(14), Op::BinaryOp)] == 5);
    CHECK(table_for(10).caches[*byte_of(table_for(10), Op::LoadAttr)] == 0);
}

TEST_CASE("instrumented forms fold to their base and share its caches", "[opcodes]") {
    for (int minor = 12; minor <= kLastMinor; ++minor) {
        const OpcodeTable& table = table_for(minor);
        INFO("3." << minor);
        int folded_calls = 0;
        for (int byte = 0; byte < 256; ++byte) {
            if (table.base[byte] == byte) continue;
            CHECK(table.op[byte] == table.op[table.base[byte]]);
            CHECK(table.caches[byte] == table.caches[table.base[byte]]);
            CHECK(table.base[table.base[byte]] == table.base[byte]);
            if (table.op[byte] == Op::Call) ++folded_calls;
        }
        CHECK(folded_calls > 1);  // INSTRUMENTED_CALL and CALL's specialised forms
    }
}

TEST_CASE("decoding reproduces dis on each interpreter's own bytecode", "[opcodes]") {
    for (int minor = kFirstMinor; minor <= kLastMinor; ++minor) {
        const json doc = load_fixture(minor);
        const OpcodeTable& table = table_for(minor);
        size_t prefixed = 0;
        for (const json& object : doc["code_objects"]) {
            INFO("3." << minor << " " << object["name"].get<std::string>());
            for (const json& e : object["instructions"]) prefixed += e[0] != e[1];
            {
                INFO("co_code");
                check_against_dis(from_hex(object["code"]), object["instructions"], table);
            }
            if (minor >= 11) {
                INFO("_co_code_adaptive");
                REQUIRE(object["adaptive"].is_string());
                check_against_dis(from_hex(object["adaptive"]), object["instructions"], table);
            }
        }
        INFO("3." << minor);
        CHECK(prefixed > 0);  // EXTENDED_ARG occurred
    }
}

TEST_CASE("the adaptive fixtures hold specialised instructions, which fold to dis's base", "[opcodes]") {
    for (int minor = 11; minor <= kLastMinor; ++minor) {
        const json doc = load_fixture(minor);
        const OpcodeTable& table = table_for(minor);
        size_t specialised = 0;  // EXTENDED_ARG_QUICK (3.11) aside, which folds into the next
        for (const json& object : doc["code_objects"]) {
            INFO("3." << minor << " " << object["name"].get<std::string>());
            const Bytes adaptive = from_hex(object["adaptive"]);
            const Bytes raw = from_hex(object["code"]);
            const std::vector<Instruction> got = decode_instructions(adaptive, table, kNoLimit);
            size_t folded_prefixes = 0;
            for (const json& s : object["specialised"]) {
                INFO(s.dump());
                const uint32_t offset = s[0].get<uint32_t>();
                const uint8_t byte = s[1].get<uint8_t>();
                REQUIRE(2 * offset < adaptive.size());
                CHECK(adaptive[2 * offset] == byte);
                CHECK(table.base[byte] != byte);
                CHECK(table.base[byte] == raw[2 * offset]);
                if (table.op[byte] == Op::ExtendedArg) ++folded_prefixes;
                else ++specialised;
            }
            size_t differing = 0;
            for (const Instruction& ins : got) differing += adaptive[2 * ins.offset] != ins.opcode;
            CHECK(differing + folded_prefixes == object["specialised"].size());
        }
        INFO("3." << minor);
        CHECK(specialised >= 20);
    }
}

TEST_CASE("instrumented bytecode decodes as dis says once the stand-ins are resolved", "[opcodes]") {
    for (int minor = 12; minor <= kLastMinor; ++minor) {
        const json doc = load_fixture(minor);
        const OpcodeTable& table = table_for(minor);
        const uint8_t ext = *byte_of(table, Op::ExtendedArg);
        REQUIRE(doc.contains("instrumented"));
        size_t stand_ins = 0, instrumented_forms = 0, hidden_prefixes = 0;
        for (const json& object : doc["instrumented"]) {
            INFO("3." << minor << " " << object["name"].get<std::string>());
            const Bytes code = from_hex(object["code"]);
            // What the caller would read from the monitoring data: the original of each unit.
            std::map<uint32_t, uint8_t> originals;
            for (const json& e : object["instructions"]) {
                for (uint32_t u = e[0].get<uint32_t>(); u < e[1].get<uint32_t>(); ++u) originals[u] = ext;
                originals[e[1].get<uint32_t>()] = e[3].get<uint8_t>();
            }
            for (const json& s : object["specialised"]) {
                const uint8_t byte = s[1].get<uint8_t>();
                const Op op = table.op[byte];
                if (op == Op::InstrumentedLine || op == Op::InstrumentedInstruction) {
                    ++stand_ins;
                    if (originals[s[0].get<uint32_t>()] == ext) ++hidden_prefixes;
                } else if (s[2].get<std::string>().starts_with("INSTRUMENTED_")) {
                    ++instrumented_forms;
                    CHECK(table.base[byte] == originals[s[0].get<uint32_t>()]);
                }
            }
            size_t asked = 0;
            const OriginalOpcode original = [&](uint32_t offset, Op op) -> std::optional<uint8_t> {
                ++asked;
                CHECK((op == Op::InstrumentedLine || op == Op::InstrumentedInstruction));
                const auto found = originals.find(offset);
                if (found == originals.end()) return std::nullopt;
                return found->second;
            };
            check_against_dis(code, object["instructions"], table, original);
            check_invariants(code, table, kNoLimit);
            size_t raw_stand_ins = 0;
            for (const Instruction& ins : decode_instructions(code, table, kNoLimit)) {
                if (ins.op == Op::InstrumentedLine || ins.op == Op::InstrumentedInstruction) {
                    CHECK(ins.opcode == code[2 * ins.offset]);
                    ++raw_stand_ins;
                }
            }
            CHECK(asked >= raw_stand_ins);
        }
        INFO("3." << minor);
        CHECK(stand_ins > 20);
        CHECK(instrumented_forms > 20);
        CHECK(hidden_prefixes > 0);  // INSTRUMENTED_LINE on the EXTENDED_ARG that starts a line
    }
}

TEST_CASE("a resolver that keeps answering stand-ins is not asked forever", "[opcodes]") {
    const OpcodeTable& table = table_for(13);
    const uint8_t line = *byte_of(table, Op::InstrumentedLine);
    size_t asked = 0;
    const OriginalOpcode original = [&](uint32_t, Op) -> std::optional<uint8_t> {
        ++asked;
        return line;
    };
    const auto got = decode_instructions(Bytes{line, 0, line, 0}, table, kNoLimit, original);
    REQUIRE(got.size() == 2);
    CHECK(got[0].op == Op::InstrumentedLine);
    CHECK(asked <= 8);
}

TEST_CASE("op_for_name maps CPython's names", "[opcodes]") {
    CHECK(op_for_name("LOAD_ATTR") == Op::LoadAttr);
    CHECK(op_for_name("BEFORE_WITH") == Op::BeforeWith);
    CHECK(op_for_name("LOAD_SPECIAL") == Op::LoadSpecial);
    CHECK(op_for_name("ENTER_EXECUTOR") == Op::EnterExecutor);
    CHECK(op_for_name("INSTRUMENTED_LINE") == Op::InstrumentedLine);
    CHECK(op_for_name("INSTRUMENTED_CALL") == Op::Other);  // folded by the table, not by name
    CHECK(op_for_name("LOAD_ATTR_SLOT") == Op::Other);
    CHECK(op_for_name("") == Op::Other);
}

TEST_CASE("decoding stops at truncated instructions", "[opcodes]") {
    const OpcodeTable& t12 = table_for(12);
    const uint8_t nop = *byte_of(t12, Op::Nop);
    const uint8_t ext = *byte_of(t12, Op::ExtendedArg);
    const uint8_t load_attr = *byte_of(t12, Op::LoadAttr);
    const uint8_t store_fast = *byte_of(t12, Op::StoreFast);

    CHECK(decode_instructions({}, t12, kNoLimit).empty());
    CHECK(decode_instructions(Bytes{nop}, t12, kNoLimit).empty());  // half a unit
    CHECK(decode_instructions(Bytes{nop, 0, nop}, t12, kNoLimit).size() == 1);
    CHECK(decode_instructions(Bytes{nop, 0, nop, 0}, t12, 0).empty());
    CHECK(decode_instructions(Bytes{nop, 0, nop, 0, nop, 0}, t12, 2).size() == 2);

    // EXTENDED_ARG prefixes with nothing after them
    const auto dangling = decode_instructions(Bytes{nop, 0, ext, 1, ext, 2}, t12, kNoLimit);
    REQUIRE(dangling.size() == 1);
    CHECK(dangling[0].op == Op::Nop);

    // LOAD_ATTR with 9 cache units: 8 are there
    Bytes cut{store_fast, 3, load_attr, 5};
    cut.resize(cut.size() + 2 * 8);
    const auto short_caches = decode_instructions(cut, t12, kNoLimit);
    REQUIRE(short_caches.size() == 1);
    CHECK(short_caches[0].op == Op::StoreFast);
    cut.resize(cut.size() + 2);
    const auto whole = decode_instructions(cut, t12, kNoLimit);
    REQUIRE(whole.size() == 2);
    CHECK(whole[1].op == Op::LoadAttr);
    CHECK(whole[1].arg == 5);
    CHECK(whole[1].next == 11);

    // prefixes fold, more than three wrap around 32 bits as CPython's int oparg does
    const auto folded = decode_instructions(Bytes{ext, 0x12, ext, 0x34, store_fast, 0x56}, t12, kNoLimit);
    REQUIRE(folded.size() == 1);
    CHECK(folded[0].start == 0);
    CHECK(folded[0].offset == 2);
    CHECK(folded[0].arg == 0x123456);
    const auto wrapped =
        decode_instructions(Bytes{ext, 1, ext, 2, ext, 3, ext, 4, ext, 5, store_fast, 6}, t12, kNoLimit);
    REQUIRE(wrapped.size() == 1);
    CHECK(wrapped[0].arg == 0x03040506);
}

TEST_CASE("stand-in opcodes are returned raw without their caches", "[opcodes]") {
    for (int minor = 12; minor <= kLastMinor; ++minor) {
        const OpcodeTable& table = table_for(minor);
        INFO("3." << minor);
        const uint8_t line = *byte_of(table, Op::InstrumentedLine);
        const uint8_t ext = *byte_of(table, Op::ExtendedArg);
        const uint8_t load_attr = *byte_of(table, Op::LoadAttr);
        // INSTRUMENTED_LINE standing for a LOAD_ATTR: its caches follow and decode as CACHE
        Bytes code{ext, 1, line, 2};
        code.resize(code.size() + 2 * table.caches[load_attr]);
        const auto got = decode_instructions(code, table, kNoLimit);
        REQUIRE(got.size() == 1u + table.caches[load_attr]);
        CHECK(got[0].op == Op::InstrumentedLine);
        CHECK(got[0].opcode == line);
        CHECK(got[0].arg == 0x102);
        CHECK(got[0].start == 0);
        CHECK(got[0].offset == 1);
        CHECK(got[0].next == 2);
        for (size_t i = 1; i < got.size(); ++i) CHECK(got[i].op == Op::Cache);
        if (minor >= 13) {
            const uint8_t executor = *byte_of(table, Op::EnterExecutor);
            const auto exec = decode_instructions(Bytes{executor, 7, line, 0}, table, kNoLimit);
            REQUIRE(exec.size() == 2);
            CHECK(exec[0].op == Op::EnterExecutor);
            CHECK(exec[0].opcode == executor);
            CHECK(exec[0].arg == 7);
        }
    }
}

TEST_CASE("decoding garbage stays inside the input", "[opcodes]") {
    uint64_t state = 0x9e3779b97f4a7c15u;
    const auto next_byte = [&state] {
        state = state * 6364136223846793005u + 1442695040888963407u;
        return static_cast<uint8_t>(state >> 56);
    };
    for (int minor = kFirstMinor; minor <= kLastMinor; ++minor) {
        const OpcodeTable& table = table_for(minor);
        INFO("3." << minor);
        for (int byte = 0; byte < 256; ++byte) {
            for (size_t length = 0; length <= 24; ++length) {
                Bytes code(length, static_cast<uint8_t>(byte));
                check_invariants(code, table, kNoLimit);
            }
        }
        for (int round = 0; round < 300; ++round) {
            Bytes code(round % 97);
            for (uint8_t& b : code) b = next_byte();
            check_invariants(code, table, kNoLimit);
            check_invariants(code, table, static_cast<size_t>(round % 5));
        }
    }
}
