// Fuzz entry point of the pure with-block analysis (core/cpython/with_analysis.hpp): one code
// object's bytecode, exception table, lines and symbols from the input, analysed under one
// version's opcode table and rules, then asked about every code unit.
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "cpython/exception_table.hpp"
#include "stackscope/error.hpp"
#include "cpython/opcodes.hpp"
#include "cpython/python_layout.hpp"
#include "cpython/with_analysis.hpp"
#include "fuzz_inputs.hpp"

namespace stackscope_fuzz {

namespace {

constexpr size_t kHeader = 16;
constexpr uint32_t kMaxProbedUnits = 1 << 14;

uint16_t u16_at(std::span<const uint8_t> data, size_t at) {
    uint16_t value;
    std::memcpy(&value, data.data() + at, sizeof value);
    return value;
}

// Names, locals, cells and constants from the input's string lists; "\x7f" is one that cannot
// be read.
class InputSymbols : public stackscope::CodeSymbols {
public:
    std::vector<std::string> names, locals, derefs, consts;
    std::vector<uint16_t> lines;  // per code unit; 0xFFFF: none

    std::optional<std::string> name(uint32_t i) override { return item(names, i); }
    std::optional<std::string> local(uint32_t i) override { return item(locals, i); }
    std::optional<std::string> deref(uint32_t i) override { return item(derefs, i); }
    std::optional<std::string> const_repr(uint32_t i) override { return item(consts, i); }
    bool const_is_none(uint32_t i) override { return i < consts.size() && consts[i] == "None"; }
    std::optional<int> line_at(uint32_t unit) override {
        if (unit >= lines.size() || lines[unit] == 0xFFFF) return std::nullopt;
        return lines[unit];
    }

private:
    static std::optional<std::string> item(const std::vector<std::string>& list, uint32_t i) {
        if (i >= list.size() || list[i] == "\x7f") return std::nullopt;
        return list[i];
    }
};

}  // namespace

Outcome with_analysis(std::span<const uint8_t> data) {
    if (data.size() < kHeader) return Outcome::TooShort;
    const int minor = 8 + data[0] % 8;
    const bool table_before_311 = data[1] & 1;
    size_t code_bytes = u16_at(data, 2), table_bytes = u16_at(data, 4), line_units = u16_at(data, 6);
    const size_t counts[3] = {u16_at(data, 8), u16_at(data, 10), u16_at(data, 12)};
    std::span<const uint8_t> rest = data.subspan(kHeader);
    auto take = [&](size_t n) {
        n = std::min(n, rest.size());
        const auto part = rest.first(n);
        rest = rest.subspan(n);
        return part;
    };
    auto code = take(code_bytes);
    code = code.first(code.size() & ~size_t{1});  // whole code units
    const auto table = take(table_bytes);
    const auto line_data = take(line_units * 2);

    InputSymbols symbols;
    for (size_t i = 0; i + 1 < line_data.size(); i += 2) symbols.lines.push_back(u16_at(line_data, i));
    std::vector<std::string> strings(1);
    for (const uint8_t byte : rest) {
        if (byte) strings.back() += static_cast<char>(byte);
        else strings.emplace_back();
    }
    size_t at = 0;
    for (auto [list, count] : {std::pair{&symbols.names, counts[0]}, std::pair{&symbols.locals, counts[1]},
                               std::pair{&symbols.derefs, counts[2]}}) {
        for (size_t i = 0; i < count && at < strings.size(); ++i) list->push_back(strings[at++]);
    }
    symbols.consts.assign(strings.begin() + static_cast<std::ptrdiff_t>(at), strings.end());

    const auto layout = stackscope::layout_for(3, minor);
    const stackscope::OpcodeTable* opcodes = stackscope::opcode_table(3, minor);
    require(layout.has_value() && opcodes != nullptr);
    const auto rules = stackscope::WithRules::of(*layout, *opcodes);
    std::vector<stackscope::ExceptionEntry> entries;
    if (rules.source == stackscope::WithBlockSource::HandlerChain || table_before_311) try {
            entries = stackscope::decode_exception_table(table);
        } catch (const stackscope::Error&) {
            // a damaged table is the reader's error; the analysis then sees none
        }
    auto instructions = stackscope::decode_instructions(code, *opcodes, stackscope::CodeWithBlocks::kMaxInstructions);
    const size_t instruction_count = instructions.size();
    stackscope::CodeWithBlocks analysis(std::move(instructions), entries, rules, symbols);

    // Every block is named once, and each answer names a block.
    std::unordered_set<uint32_t> handlers;
    for (const auto& block : analysis.blocks()) {
        require(handlers.insert(block.handler).second);
        require(analysis.block_at(block.handler) == &block);
    }
    require(analysis.blocks().size() <= instruction_count);
    const uint32_t units = static_cast<uint32_t>(std::min<size_t>(code.size() / 2 + 4, kMaxProbedUnits));
    std::vector<uint32_t> probes;
    for (uint32_t unit = 0; unit < units; ++unit) probes.push_back(unit);
    for (const auto& e : entries) probes.insert(probes.end(), {e.start, e.end, e.target});
    probes.push_back(UINT32_MAX);
    for (const uint32_t unit : probes) {
        const auto active = analysis.active_blocks(unit);
        require(active.size() <= stackscope::CodeWithBlocks::kMaxChain);
        for (const auto& a : active) require(analysis.block_at(a.handler) != nullptr);
        if (const auto exiting = analysis.exiting_at(unit, symbols))
            require(analysis.block_at(exiting->handler) != nullptr);
    }
    return Outcome::Value;
}

}  // namespace stackscope_fuzz
