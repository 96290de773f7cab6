// Tests for cpython/exception_table.hpp and cpython/with_analysis.hpp, the pure with-block
// analysis of one code object, against code compiled by each interpreter 3.8-3.15
// (tests/unit/fixtures/with_3.X.json, written by tests/unit/fixtures/make_with_fixtures.py).
// The expectations come from outside this tool: upstream stackscope's analyze_with_blocks and
// currently_exiting_context on 3.8-3.12, the sample source's ast (each with statement's line,
// its `as` target as written, the with-items around each marker call) and the managers' own
// record of which `with` called their __exit__ on every version, and dis's own decoding of
// co_exceptiontable. Plus hand-encoded exception tables: malformed, truncated, out of order.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cpython/exception_table.hpp"
#include "cpython/opcodes.hpp"
#include "cpython/python_layout.hpp"
#include "cpython/with_analysis.hpp"
#include "stackscope/error.hpp"

using stackscope::ActiveBlock;
using stackscope::CodeSymbols;
using stackscope::CodeWithBlocks;
using stackscope::decode_exception_table;
using stackscope::ExceptionEntry;
using stackscope::handler_for;
using stackscope::WithBlockInfo;
using stackscope::WithRules;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

namespace Catch {
template <>
struct StringMaker<std::optional<std::string>> {
    static std::string convert(const std::optional<std::string>& value) {
        return value ? '"' + *value + '"' : std::string("nullopt");
    }
};
template <>
struct StringMaker<std::optional<int>> {
    static std::string convert(const std::optional<int>& value) {
        return value ? std::to_string(*value) : std::string("nullopt");
    }
};
}  // namespace Catch

namespace {

constexpr int kFirstMinor = 8;
constexpr int kLastMinor = 15;
constexpr int kFirstUpstreamlessMinor = 13;  // upstream stackscope has no 3.13+ path
constexpr int kFirstHandlerChainMinor = 11;

json load_fixture(int minor) {
    const std::string path = std::string(STACKSCOPE_FIXTURES) + "/with_3." + std::to_string(minor) + ".json";
    std::ifstream in(path);
    INFO("fixture file " << path << " (regenerate with tests/unit/fixtures/make_with_fixtures.py)");
    REQUIRE(in.good());
    json doc = json::parse(in);
    REQUIRE(doc["python"].get<std::string>().rfind("3." + std::to_string(minor) + ".", 0) == 0);
    REQUIRE(doc["expected"].get<std::string>() == (minor < kFirstUpstreamlessMinor ? "upstream" : "source"));
    REQUIRE(doc["code_objects"].size() >= 20);
    return doc;
}

Bytes from_hex(const std::string& hex) {
    REQUIRE(hex.size() % 2 == 0);
    Bytes out;
    for (size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::optional<std::string> optional_string(const json& value) {
    if (value.is_null()) return std::nullopt;
    return value.get<std::string>();
}

// A code object's names, constants and lines as the fixture recorded them.
class FixtureSymbols : public CodeSymbols {
public:
    explicit FixtureSymbols(const json& code) : code_(code) {}

    std::optional<std::string> name(uint32_t index) override { return item("names", index); }
    std::optional<std::string> local(uint32_t index) override { return item("locals", index); }
    std::optional<std::string> deref(uint32_t index) override { return item("derefs", index); }
    std::optional<std::string> const_repr(uint32_t index) override { return item("consts", index); }
    bool const_is_none(uint32_t index) override {
        const json& none = code_["const_is_none"];
        return index < none.size() && none[index].get<bool>();
    }
    std::optional<int> line_at(uint32_t unit) override {
        const json& lines = code_["lines"];
        if (unit >= lines.size() || lines[unit].is_null()) return std::nullopt;
        return lines[unit].get<int>();
    }

private:
    std::optional<std::string> item(const char* key, uint32_t index) {
        const json& list = code_[key];
        if (index >= list.size()) return std::nullopt;
        return optional_string(list[index]);
    }

    const json& code_;
};

struct Analysed {
    std::unique_ptr<FixtureSymbols> symbols;
    std::unique_ptr<CodeWithBlocks> blocks;
};

WithRules rules_for(int minor) {
    static std::map<int, stackscope::PythonLayout> layouts;
    if (!layouts.count(minor)) {
        const auto layout = stackscope::layout_for(3, minor);
        REQUIRE(layout.has_value());
        layouts.emplace(minor, *layout);
    }
    const stackscope::OpcodeTable* table = stackscope::opcode_table(3, minor);
    REQUIRE(table != nullptr);
    return WithRules::of(layouts.at(minor), *table);
}

// The analysis of one code object of a fixture, from its raw or its quickened bytecode.
Analysed analyse(const json& code, int minor, bool adaptive) {
    const WithRules rules = rules_for(minor);
    const Bytes bytecode = from_hex(code[adaptive ? "adaptive" : "code"].get<std::string>());
    std::vector<ExceptionEntry> table;
    if (!code["exception_table"].is_null()) table = decode_exception_table(from_hex(code["exception_table"]));
    Analysed a{std::make_unique<FixtureSymbols>(code), nullptr};
    a.blocks = std::make_unique<CodeWithBlocks>(
        stackscope::decode_instructions(bytecode, rules.opcodes, CodeWithBlocks::kMaxInstructions), std::move(table),
        rules, *a.symbols);
    return a;
}

// What the source says of one with-item, by its manager's label.
struct SourceItem {
    std::string label;
    int line = 0;                       // the with statement's
    int item_line = 0;                  // the first line of the item's manager expression
    std::optional<std::string> target;  // as written; nullopt without one
    bool target_known = true;           // whether the version's oracle spells the target so
    bool is_async = false;
};

// Where the analysis is known to part from the oracles, by kind; every test counts the
// deviations of each kind per version and expects exactly the counts of kKnownGaps, so that
// a fix (or a new deviation) shows. What each kind is (see the report of the commit that
// added this file):
//   fallthrough-exit  3.11+: the __exit__ / __aexit__ call that ends a body whose last
//       statement is an `if` without `else` (the jump lands on a NOP or on the first
//       LOAD_CONST None, and no exception-table entry ends just before it): not found as
//       exiting (upstream misses it too: it warns "couldn't find an exception table entry").
//   upstream-no-block 3.12: the __exit__ call that ends a body whose last statement is
//       a try/except: upstream names the handler of the exception-table entry that ends the
//       body, which is the except clause's, not a with-block's, so it shows no exiting
//       context. The analysis finds the with-block, which check_is_item checks against the
//       source.
//   upstream-no-target 3.11-3.12: `as f(x).attr` with f a local: upstream reads no target
//       (the PUSH_NULL before the callable stops it); the analysis reads the source's.
//   multi-line-line   3.13+: a with statement whose item starts on a later line than `with`:
//       CPython 3.13+ no longer gives any instruction the statement's line, the block starts
//       at the item's line (3.12 and upstream: the statement's).
//   const-slice       3.14+: `as values[1:2]` stores through a constant slice object, which
//       CodeSymbols::const_repr cannot spell: no target (3.12/3.13: `values[1:2]`).
//   common-constant   3.15: None is LOAD_COMMON_CONSTANT 7 and the awaits have PUSH_NULL:
//       every `async with` is misread (one block, the coroutine's own handler, no target)
//       and no __exit__ call is recognised.
enum class Gap { FallthroughExit, UpstreamNoBlock, UpstreamNoTarget, MultiLineLine, ConstSlice };
using GapCounts = std::map<Gap, size_t>;

const char* gap_name(Gap g) {
    switch (g) {
        case Gap::FallthroughExit: return "fallthrough-exit";
        case Gap::UpstreamNoBlock: return "upstream-no-block";
        case Gap::UpstreamNoTarget: return "upstream-no-target";
        case Gap::MultiLineLine: return "multi-line-line";
        case Gap::ConstSlice: return "const-slice";
    }
    return "?";
}

std::string describe(const GapCounts& counts) {
    std::string out;
    for (const auto& [gap, n] : counts)
        if (n) out += std::string(gap_name(gap)) + "=" + std::to_string(n) + " ";
    return out.empty() ? "none" : out;
}

// The with-items of a code object by label. On 3.8-3.12 upstream is the oracle of the `as`
// text: an item's target is checked against the source only where upstream spells it so (it
// cannot read a slice target before 3.12).
std::map<std::string, SourceItem> source_items(const json& code, bool upstream) {
    std::map<std::string, SourceItem> items;
    for (const json& item : code["source_blocks"]) {
        SourceItem s;
        s.label = item["label"].get<std::string>();
        s.line = item["line"].get<int>();
        s.item_line = item["item_line"].get<int>();
        s.target = optional_string(item["target"]);
        s.is_async = item["is_async"].get<bool>();
        if (upstream) {
            s.target_known = false;
            for (const json& b : code["blocks"])
                s.target_known |= b["start_line"] == s.line && b["is_async"] == s.is_async &&
                                  optional_string(b["target"]) == s.target;
        }
        items.emplace(s.label, s);
    }
    return items;
}

bool matches(const WithBlockInfo& b, const SourceItem& want) {
    return b.start_line == want.line && b.is_async == want.is_async && (!want.target_known || b.target == want.target);
}

// The known gap a block's deviation from the item is, if it is one.
std::optional<Gap> known_gap(int minor, const WithBlockInfo* b, const SourceItem& want) {
    if (!b) return std::nullopt;
    if (minor >= 13 && want.item_line != want.line && b->start_line == want.item_line && b->target == want.target &&
        b->is_async == want.is_async)
        return Gap::MultiLineLine;
    if (minor >= 14 && want.label == "t_slice" && !b->target && b->start_line == want.line) return Gap::ConstSlice;
    return std::nullopt;
}

// Checks that `block` is the with-item `label` of the source, or a known gap.
void check_is_item(const WithBlockInfo* block, const std::string& label, const std::map<std::string, SourceItem>& items,
                   int minor, GapCounts& gaps) {
    INFO("with-item " << label);
    REQUIRE(items.count(label) == 1);
    const SourceItem& want = items.at(label);
    if (block && matches(*block, want)) return;
    if (const auto gap = known_gap(minor, block, want)) {
        ++gaps[*gap];
        return;
    }
    CHECK(block != nullptr);
    if (!block) return;
    CHECK(block->start_line == want.line);
    CHECK(block->is_async == want.is_async);
    if (want.target_known) CHECK(block->target == want.target);
}

std::string describe(const WithBlockInfo& b) {
    return "{handler " + std::to_string(b.handler) + (b.is_async ? ", async" : "") + ", target " +
           b.target.value_or("<none>") + ", line " + (b.start_line ? std::to_string(*b.start_line) : "?") + "}";
}

// Whether the source has a with-item at `line` whose target is `target`.
bool source_has_target(const json& code, int line, const std::string& target) {
    for (const json& item : code["source_blocks"]) {
        if (item["line"].get<int>() == line && !item["target"].is_null() && item["target"].get<std::string>() == target)
            return true;
    }
    return false;
}

void check_blocks_against_upstream(const CodeWithBlocks& got, const json& code, GapCounts& gaps) {
    const json& expected = code["blocks"];
    CHECK(got.blocks().size() == expected.size());
    for (const json& e : expected) {
        INFO("upstream's block " << e.dump());
        const WithBlockInfo* b = got.block_at(e["handler"].get<uint32_t>());
        CHECK(b != nullptr);
        if (!b) continue;
        CHECK(b->is_async == e["is_async"].get<bool>());
        if (e["target"].is_null() && b->target) {
            CHECK(source_has_target(code, e["start_line"].get<int>(), *b->target));
            ++gaps[Gap::UpstreamNoTarget];
        } else {
            CHECK(b->target == optional_string(e["target"]));
        }
        CHECK(b->start_line == e["start_line"].get<int>());
    }
}

// 3.13+: each with-item of the source is found as often as the compiler emitted its statement
// (a `with` in a `finally` twice), with its line, its target as written and its kind.
void check_blocks_against_source(const CodeWithBlocks& got, const json& code, int minor, GapCounts& gaps) {
    size_t total = 0;
    for (const auto& [label, want] : source_items(code, false)) {
        INFO("source item " << label);
        const json* item = nullptr;
        for (const json& i : code["source_blocks"])
            if (i["label"] == label) item = &i;
        const auto copies = (*item)["copies"].get<size_t>();
        CHECK(copies >= 1);
        total += copies;
        size_t found = 0, found_as_gap = 0;
        std::optional<Gap> gap;
        for (const WithBlockInfo& b : got.blocks()) {
            if (matches(b, want)) {
                ++found;
            } else if (const auto g = known_gap(minor, &b, want)) {
                ++found_as_gap;
                gap = g;
            }
        }
        if (found == copies) continue;
        if (gap && found + found_as_gap == copies) {
            gaps[*gap] += found_as_gap;
        } else {
            CHECK(found == copies);
        }
    }
    CHECK(got.blocks().size() == total);
}

template <typename F>
void for_each_version(F&& check) {
    for (int minor = kFirstMinor; minor <= kLastMinor; ++minor) {
        DYNAMIC_SECTION("3." << minor) {
            const json doc = load_fixture(minor);
            check(minor, doc);
        }
    }
}

// The known gaps each test meets per version (raw and quickened code each count; 3.15's
// common-constant gaps stand in for the others in its async code).
GapCounts expected_gaps(const std::string& test, int minor) {
    using G = Gap;
    static const std::map<std::pair<std::string, int>, GapCounts> kKnownGaps = {
        {{"blocks", 11}, {{G::UpstreamNoTarget, 2}}},
        {{"blocks", 12}, {{G::UpstreamNoTarget, 2}}},
        {{"blocks", 13}, {{G::MultiLineLine, 10}}},
        {{"blocks", 14}, {{G::MultiLineLine, 10}, {G::ConstSlice, 2}}},
        {{"blocks", 15}, {{G::MultiLineLine, 10}, {G::ConstSlice, 2}}},
        {{"chain", 13}, {{G::MultiLineLine, 10}}},
        {{"chain", 14}, {{G::MultiLineLine, 10}, {G::ConstSlice, 2}}},
        {{"chain", 15}, {{G::MultiLineLine, 10}, {G::ConstSlice, 2}}},
        {{"exits", 11}, {{G::FallthroughExit, 8}}},
        {{"exits", 12}, {{G::FallthroughExit, 8}, {G::UpstreamNoBlock, 12}}},
        {{"exits", 13}, {{G::FallthroughExit, 8}, {G::MultiLineLine, 14}}},
        {{"exits", 14}, {{G::FallthroughExit, 8}, {G::MultiLineLine, 14}, {G::ConstSlice, 2}}},
        {{"exits", 15}, {{G::FallthroughExit, 8}, {G::MultiLineLine, 14}, {G::ConstSlice, 2}}},
    };
    const auto it = kKnownGaps.find({test, minor});
    return it == kKnownGaps.end() ? GapCounts{} : it->second;
}

}  // namespace

TEST_CASE("With-blocks of each version's code are upstream's (3.8-3.12) and the source's (3.13+)", "[with]") {
    for_each_version([](int minor, const json& doc) {
        size_t blocks = 0;
        GapCounts gaps;
        for (const json& code : doc["code_objects"]) {
            for (const bool adaptive : {false, true}) {
                if (adaptive && code["adaptive"].is_null()) continue;
                INFO(code["name"].get<std::string>() << (adaptive ? " (quickened)" : ""));
                const Analysed a = analyse(code, minor, adaptive);
                std::string listing;
                for (const WithBlockInfo& b : a.blocks->blocks()) listing += describe(b) + " ";
                INFO("found " << listing);
                if (minor < kFirstUpstreamlessMinor) check_blocks_against_upstream(*a.blocks, code, gaps);
                else check_blocks_against_source(*a.blocks, code, minor, gaps);
                blocks += a.blocks->blocks().size();
            }
        }
        CHECK(blocks >= 50);
        CHECK(describe(gaps) == describe(expected_gaps("blocks", minor)));
    });
}

TEST_CASE("Upstream and the source agree on the samples' with-items (3.8-3.12)", "[with]") {
    // The two oracles of the version ranges are the same rules: a fixture where they part
    // would make the 3.13+ expectations differ from 3.12's.
    for_each_version([](int minor, const json& doc) {
        if (minor >= kFirstUpstreamlessMinor) return;
        size_t slices = 0;
        for (const json& code : doc["code_objects"]) {
            INFO(code["name"].get<std::string>());
            std::multiset<std::tuple<int, std::string, bool>> source, upstream;
            for (const json& item : code["source_blocks"])
                for (size_t i = 0; i < item["copies"].get<size_t>(); ++i)
                    source.emplace(item["line"].get<int>(),
                                   item["target"].is_null() ? "" : item["target"].get<std::string>(),
                                   item["is_async"].get<bool>());
            for (const json& b : code["blocks"]) {
                std::string target = b["target"].is_null() ? "" : b["target"].get<std::string>();
                // Before 3.12 upstream cannot read a slice target (BUILD_SLICE), nor from 3.11 a
                // call on a local (PUSH_NULL).
                if (target.empty() && minor < 12) {
                    for (const json& item : code["source_blocks"])
                        if (item["line"] == b["start_line"] && item["label"] == "t_slice") {
                            target = item["target"].get<std::string>();
                            ++slices;
                        }
                }
                if (target.empty() && minor >= 11) {
                    for (const json& item : code["source_blocks"])
                        if (item["line"] == b["start_line"] && item["label"] == "t_call_local")
                            target = item["target"].get<std::string>();
                }
                upstream.emplace(b["start_line"].get<int>(), target, b["is_async"].get<bool>());
            }
            CHECK(source == upstream);
        }
        CHECK(slices == (minor < 12 ? 1 : 0));
    });
}

TEST_CASE("The handler chain at each marker call names the with-items around it, innermost first (3.11+)", "[with]") {
    for_each_version([](int minor, const json& doc) {
        if (minor < kFirstHandlerChainMinor) return;  // a block stack before 3.11: read from the frame
        size_t checked = 0, nested = 0;
        GapCounts gaps;
        for (const json& code : doc["code_objects"]) {
            const auto items = source_items(code, minor < kFirstUpstreamlessMinor);
            for (const bool adaptive : {false, true}) {
                INFO(code["name"].get<std::string>() << (adaptive ? " (quickened)" : ""));
                const Analysed a = analyse(code, minor, adaptive);
                for (const json& marker : code["markers"]) {
                    INFO("marker " << marker.dump());
                    CHECK(!marker["units"].empty());
                    for (const json& unit : marker["units"]) {
                        INFO("at unit " << unit);
                        const std::vector<ActiveBlock> active = a.blocks->active_blocks(unit.get<uint32_t>());
                        const json& enclosing = marker["enclosing"];
                        ++checked;
                        nested += active.size() >= 2;
                        // A marker call is not an __exit__ call.
                        CHECK_FALSE(a.blocks->exiting_at(unit.get<uint32_t>(), *a.symbols).has_value());
                        CHECK(active.size() == enclosing.size());
                        for (size_t i = 0; i < std::min(active.size(), enclosing.size()); ++i)
                            check_is_item(a.blocks->block_at(active[i].handler), enclosing[i].get<std::string>(), items,
                                          minor, gaps);
                    }
                }
            }
        }
        CHECK(checked >= 100);
        CHECK(nested >= 10);
        CHECK(describe(gaps) == describe(expected_gaps("chain", minor)));
    });
}

TEST_CASE("Each __exit__ / __aexit__ call the managers saw is found as their block's exit", "[with]") {
    for_each_version([](int minor, const json& doc) {
        size_t exits = 0, suspended = 0, with_upstream = 0;
        GapCounts gaps;
        for (const json& code : doc["code_objects"]) {
            const auto items = source_items(code, minor < kFirstUpstreamlessMinor);
            for (const bool adaptive : {false, true}) {
                if (adaptive && code["adaptive"].is_null()) continue;
                INFO(code["name"].get<std::string>() << (adaptive ? " (quickened)" : ""));
                Analysed a = analyse(code, minor, adaptive);
                for (const json& exit : code["exits"]) {
                    INFO("exit " << exit.dump());
                    ++exits;
                    suspended += exit["suspended"].get<bool>();
                    const auto found = a.blocks->exiting_at(exit["unit"].get<uint32_t>(), *a.symbols);
                    const std::string label = exit["label"].get<std::string>();
                    if (!found && minor >= kFirstHandlerChainMinor && (label == "ls_return" || label == "r1")) {
                        ++gaps[Gap::FallthroughExit];
                        continue;
                    }
                    CHECK(found.has_value());
                    if (!found) continue;
                    CHECK(found->is_async == items.at(label).is_async);
                    check_is_item(a.blocks->block_at(found->handler), label, items, minor, gaps);
                    if (!exit["upstream"].is_null()) {
                        if (!a.blocks->block_at(exit["upstream"]["handler"].get<uint32_t>())) {
                            ++gaps[Gap::UpstreamNoBlock];
                            continue;
                        }
                        CHECK(found->handler == exit["upstream"]["handler"].get<uint32_t>());
                        CHECK(found->is_async == exit["upstream"]["is_async"].get<bool>());
                        ++with_upstream;
                    }
                }
            }
        }
        CHECK(exits >= 90);
        CHECK(suspended >= 19);
        if (minor < kFirstUpstreamlessMinor) CHECK(with_upstream >= 60);
        CHECK(describe(gaps) == describe(expected_gaps("exits", minor)));
    });
}

TEST_CASE("co_exceptiontable decodes as dis decodes it (3.11+)", "[with][exception_table]") {
    for_each_version([](int minor, const json& doc) {
        size_t entries = 0;
        for (const json& code : doc["code_objects"]) {
            if (minor < kFirstHandlerChainMinor) {
                CHECK(code["exception_table"].is_null());
                continue;
            }
            INFO(code["name"].get<std::string>());
            const auto got = decode_exception_table(from_hex(code["exception_table"]));
            const json& want = code["exception_entries"];
            REQUIRE(got.size() == want.size());
            for (size_t i = 0; i < got.size(); ++i) {
                INFO("entry " << i << ": " << want[i].dump());
                CHECK(got[i].start == want[i][0].get<uint32_t>());
                CHECK(got[i].end == want[i][1].get<uint32_t>());
                CHECK(got[i].target == want[i][2].get<uint32_t>());
                CHECK(got[i].depth == want[i][3].get<uint32_t>());
                CHECK(got[i].lasti == want[i][4].get<bool>());
                // Each entry's own units find it; the unit after it finds it no more.
                CHECK(handler_for(got, got[i].start)->target == got[i].target);
                CHECK(handler_for(got, got[i].end - 1)->start == got[i].start);
                const auto after = handler_for(got, got[i].end);
                CHECK((!after || after->start == got[i].end));
            }
            entries += got.size();
        }
        if (minor >= kFirstHandlerChainMinor) CHECK(entries >= 100);
    });
}

// --- hand-encoded exception tables -------------------------------------------------------

namespace {

// One varint of co_exceptiontable: 6-bit chunks, most significant first, 64 on all but the
// last; `first` sets the entry-start bit (128).
void put_varint(Bytes& out, uint64_t value, bool first = false) {
    std::vector<uint8_t> chunks;
    do {
        chunks.push_back(static_cast<uint8_t>(value & 63));
        value >>= 6;
    } while (value);
    for (size_t i = chunks.size(); i-- > 0;) {
        uint8_t byte = chunks[i];
        if (i) byte |= 64;
        if (first && i == chunks.size() - 1) byte |= 128;
        out.push_back(byte);
    }
}

Bytes entry(uint64_t start, uint64_t length, uint64_t target, uint64_t depth, bool lasti) {
    Bytes out;
    put_varint(out, start, true);
    put_varint(out, length);
    put_varint(out, target);
    put_varint(out, depth * 2 + (lasti ? 1 : 0));
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

bool same(const ExceptionEntry& e, uint32_t start, uint32_t end, uint32_t target, uint32_t depth, bool lasti) {
    return e.start == start && e.end == end && e.target == target && e.depth == depth && e.lasti == lasti;
}

}  // namespace

TEST_CASE("Exception-table entries decode, one-byte and multi-byte varints", "[exception_table]") {
    CHECK(decode_exception_table({}).empty());
    // CPython's own encoding of 3 (start 2, length 4, target 10, depth 3, lasti).
    const Bytes one{0x82, 0x04, 0x0a, 0x07};
    CHECK(entry(2, 4, 10, 3, true) == one);
    auto got = decode_exception_table(one);
    REQUIRE(got.size() == 1);
    CHECK(same(got[0], 2, 6, 10, 3, true));

    const Bytes wide = concat({entry(100, 5000, 70000, 40, false), entry(5100, 1, 0xFFFFFFFFu, 0, true)});
    CHECK(wide[0] == (0x80 | 0x40 | 1));  // 100 = 1 * 64 + 36: two chunks
    got = decode_exception_table(wide);
    REQUIRE(got.size() == 2);
    CHECK(same(got[0], 100, 5100, 70000, 40, false));
    CHECK(same(got[1], 5100, 5101, 0xFFFFFFFFu, 0, true));  // adjacent entries are in order

    // A zero-length entry is kept (CPython never writes one; it covers nothing).
    got = decode_exception_table(entry(7, 0, 1, 0, false));
    REQUIRE(got.size() == 1);
    CHECK(!handler_for(got, 7));
}

TEST_CASE("A damaged exception table is an error, never a partial table", "[exception_table]") {
    const Bytes good = concat({entry(0, 4, 20, 1, false), entry(4, 6, 30, 2, true)});
    REQUIRE(decode_exception_table(good).size() == 2);

    SECTION("truncated anywhere but between entries") {
        const size_t first_size = entry(0, 4, 20, 1, false).size();
        for (size_t cut = 1; cut < good.size(); ++cut) {
            INFO("cut at " << cut);
            if (cut == first_size) CHECK(decode_exception_table(std::span(good.data(), cut)).size() == 1);
            else CHECK_THROWS_AS(decode_exception_table(std::span(good.data(), cut)), stackscope::Error);
        }
    }
    SECTION("an entry without the start bit") {
        Bytes bad = good;
        bad[entry(0, 4, 20, 1, false).size()] &= 0x7f;
        CHECK_THROWS_AS(decode_exception_table(bad), stackscope::Error);
        Bytes first_bad = good;
        first_bad[0] &= 0x7f;
        CHECK_THROWS_AS(decode_exception_table(first_bad), stackscope::Error);
    }
    SECTION("a start bit inside an entry is only the chunk's bit: the entry decodes") {
        // 0x80 is not looked at after an entry's first byte (CPython's encoder never sets it there).
        Bytes odd = entry(0, 4, 20, 1, false);
        odd[1] |= 0x80;
        const auto got = decode_exception_table(odd);
        REQUIRE(got.size() == 1);
        CHECK(same(got[0], 0, 4, 20, 1, false));
    }
    SECTION("out-of-order and overlapping entries") {
        CHECK_THROWS_AS(decode_exception_table(concat({entry(10, 4, 1, 0, false), entry(2, 4, 1, 0, false)})),
                        stackscope::Error);
        CHECK_THROWS_AS(decode_exception_table(concat({entry(10, 4, 1, 0, false), entry(13, 4, 1, 0, false)})),
                        stackscope::Error);
        CHECK(decode_exception_table(concat({entry(10, 4, 1, 0, false), entry(14, 4, 1, 0, false)})).size() == 2);
    }
    SECTION("varints beyond 32 bits, or of more than six chunks") {
        CHECK_THROWS_AS(decode_exception_table(concat({good, entry(1ull << 32, 1, 0, 0, false)})), stackscope::Error);
        CHECK_THROWS_AS(decode_exception_table(concat({good, entry(100, 1, 1ull << 32, 0, false)})), stackscope::Error);
        CHECK_THROWS_AS(decode_exception_table(concat({good, entry(100, 1, 0, 1ull << 31, false)})), stackscope::Error);
        // Seven chunks, the first zero: the value fits, the encoding is too long.
        Bytes seven{0x80 | 0x40};
        for (int i = 0; i < 5; ++i) seven.push_back(0x40);
        seven.push_back(0x01);
        CHECK_THROWS_AS(decode_exception_table(concat({good, seven, Bytes{0x01, 0x01, 0x00}})), stackscope::Error);
        // start + length past 2^32.
        CHECK_THROWS_AS(decode_exception_table(concat({good, entry(0xFFFFFFF0u, 0x20, 0, 0, false)})),
                        stackscope::Error);
        const auto last = decode_exception_table(concat({good, entry(0xFFFFFFF0u, 0x0F, 0, 0, false)}));
        REQUIRE(last.size() == 3);
        CHECK(last[2].end == 0xFFFFFFFFu);
    }
    SECTION("max_entries bounds the work") {
        Bytes many;
        for (uint32_t i = 0; i < 100; ++i) many = concat({many, entry(i * 2, 2, 500, 0, false)});
        CHECK(decode_exception_table(many).size() == 100);
        CHECK_THROWS_AS(decode_exception_table(many, 10), stackscope::Error);
        CHECK(decode_exception_table(many, 100).size() == 100);
    }
}

TEST_CASE("handler_for finds the entry covering a unit, at the boundaries", "[exception_table]") {
    const auto table = decode_exception_table(
        concat({entry(4, 4, 100, 1, false), entry(8, 2, 200, 2, true), entry(20, 5, 300, 3, false)}));
    REQUIRE(table.size() == 3);
    auto target_at = [&](uint32_t unit) -> int64_t {
        const auto e = handler_for(table, unit);
        return e ? int64_t{e->target} : -1;
    };
    CHECK(target_at(0) == -1);
    CHECK(target_at(3) == -1);
    CHECK(target_at(4) == 100);
    CHECK(target_at(7) == 100);
    CHECK(target_at(8) == 200);  // adjacent: the next entry's first unit
    CHECK(target_at(9) == 200);
    CHECK(target_at(10) == -1);  // a gap
    CHECK(target_at(19) == -1);
    CHECK(target_at(20) == 300);
    CHECK(target_at(24) == 300);
    CHECK(target_at(25) == -1);
    CHECK(target_at(0xFFFFFFFFu) == -1);
    CHECK(handler_for({}, 0) == std::nullopt);
    CHECK(handler_for(table, 9)->depth == 2);
    CHECK(handler_for(table, 9)->lasti);
}

// --- hand-made code for the analysis's corners -------------------------------------------

namespace {

// Symbols answering from small tables; every lookup past them is unreadable.
class TableSymbols : public CodeSymbols {
public:
    std::vector<std::string> names, locals, consts;
    std::optional<int> line = 7;
    std::optional<std::string> name(uint32_t i) override {
        return i < names.size() ? std::optional(names[i]) : std::nullopt;
    }
    std::optional<std::string> local(uint32_t i) override {
        return i < locals.size() ? std::optional(locals[i]) : std::nullopt;
    }
    std::optional<std::string> deref(uint32_t i) override { return local(i); }
    std::optional<std::string> const_repr(uint32_t i) override {
        return i < consts.size() ? std::optional(consts[i]) : std::nullopt;
    }
    bool const_is_none(uint32_t i) override { return i < consts.size() && consts[i] == "None"; }
    std::optional<int> line_at(uint32_t) override { return line; }
};

uint8_t byte_named(const stackscope::OpcodeTable& table, stackscope::Op op) {
    for (int b = 0; b < 256; ++b)
        if (table.op[b] == op && table.base[b] == b) return static_cast<uint8_t>(b);
    FAIL("no opcode byte for the op");
    return 0;
}

// Bytecode from (op, arg) pairs, with the version's inline caches as zero units.
Bytes assemble(const stackscope::OpcodeTable& table, std::initializer_list<std::pair<stackscope::Op, uint8_t>> code) {
    Bytes out;
    for (const auto& [op, arg] : code) {
        const uint8_t byte = byte_named(table, op);
        out.push_back(byte);
        out.push_back(arg);
        for (int i = 0; i < table.caches[byte]; ++i) out.insert(out.end(), {0, 0});
    }
    return out;
}

}  // namespace

TEST_CASE("A handler chain that loops or runs long ends", "[with]") {
    using stackscope::Op;
    for (int minor = kFirstHandlerChainMinor; minor <= 13; ++minor) {
        INFO("3." << minor);
        const WithRules rules = rules_for(minor);
        TableSymbols symbols;
        symbols.locals = {"x"};
        // BEFORE_WITH; STORE_FAST x; NOP ... with the body's handler its own protector.
        const Bytes code = assemble(
            rules.opcodes,
            {{Op::BeforeWith, 0}, {Op::StoreFast, 0}, {Op::Nop, 0}, {Op::Nop, 0}, {Op::PushExcInfo, 0}, {Op::Nop, 0}});
        const auto instructions = stackscope::decode_instructions(code, rules.opcodes, 100);
        REQUIRE(instructions.size() == 6);
        const uint32_t store = instructions[1].start, handler = instructions[4].start;
        // The body's entry leads to the handler, whose own entry leads back to the handler.
        const auto table = decode_exception_table(
            concat({entry(store, handler - store, handler, 1, false), entry(handler, 2, handler, 2, true)}));
        REQUIRE(table.size() == 2);
        CodeWithBlocks blocks(instructions, table, rules, symbols);
        REQUIRE(blocks.blocks().size() == 1);
        CHECK(blocks.blocks()[0].handler == handler);
        CHECK(blocks.blocks()[0].target == "x");
        CHECK(blocks.blocks()[0].start_line == 7);
        const auto active = blocks.active_blocks(instructions[2].start);
        REQUIRE(active.size() == 1);
        CHECK(active[0].handler == handler);
        CHECK(active[0].depth == 1);
        CHECK(blocks.active_blocks(instructions[0].start).empty());
        CHECK(blocks.active_blocks(1000).empty());
        CHECK_FALSE(blocks.exiting_at(1000, symbols));
    }
}
