// Tests for core/line_tables.hpp: the decoders are checked against tables (and the
// interpretation of them) produced by real CPython 3.8-3.13 interpreters, stored in
// tests/unit/fixtures/lines_3.X.json by tests/unit/fixtures/make_fixtures.py, plus
// hand-written edge cases.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "stackscope/error.hpp"
#include "cpython/exception_table.hpp"
#include "cpython/line_tables.hpp"

using stackscope::Error;
using stackscope::ExceptionEntry;
using stackscope::Location;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------
// Fixture helpers
// ---------------------------------------------------------------------------

json load_fixture(int minor) {
    const std::string path = std::string(STACKSCOPE_FIXTURES) + "/lines_3." + std::to_string(minor) + ".json";
    std::ifstream in(path);
    INFO("fixture file " << path << " (regenerate with tests/unit/fixtures/make_fixtures.py)");
    REQUIRE(in.good());  // fixtures are committed: a missing one is a failure, not a skip
    json doc = json::parse(in);
    REQUIRE(doc.contains("code_objects"));
    REQUIRE(doc["python"].get<std::string>().rfind("3." + std::to_string(minor) + ".", 0) == 0);
    REQUIRE(!doc["code_objects"].empty());
    return doc;
}

Bytes from_hex(const std::string& hex) {
    REQUIRE(hex.size() % 2 == 0);
    Bytes out;
    out.reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::optional<int> opt_int(const json& j) {
    if (j.is_null()) return std::nullopt;
    return j.get<int>();
}

std::string show(const std::optional<int>& v) { return v ? std::to_string(*v) : std::string("None"); }

// Expand the run-length encoded "lines" truth to one entry per code unit.
std::vector<std::optional<int>> expand_lines(const json& runs, size_t units) {
    std::vector<std::optional<int>> out;
    for (const json& run : runs) {
        REQUIRE(run[0].get<size_t>() == out.size());
        const size_t end = run[1].get<size_t>();
        while (out.size() < end) out.push_back(opt_int(run[2]));
    }
    REQUIRE(out.size() == units);
    return out;
}

struct Pos {
    std::optional<int> line, end_line, column, end_column;
    bool operator==(const Pos& o) const {
        return line == o.line && end_line == o.end_line && column == o.column && end_column == o.end_column;
    }
};

std::string show(const Pos& p) {
    return "(" + show(p.line) + ", " + show(p.end_line) + ", " + show(p.column) + ", " + show(p.end_column) + ")";
}

std::vector<Pos> expand_positions(const json& runs, size_t units) {
    std::vector<Pos> out;
    for (const json& run : runs) {
        REQUIRE(run[0].get<size_t>() == out.size());
        const size_t end = run[1].get<size_t>();
        const Pos p{opt_int(run[2]), opt_int(run[3]), opt_int(run[4]), opt_int(run[5])};
        while (out.size() < end) out.push_back(p);
    }
    REQUIRE(out.size() == units);
    return out;
}

std::string describe(const json& co) {
    return co["name"].get<std::string>() + " (firstlineno " + std::to_string(co["firstlineno"].get<int>()) +
           ", code_len " + std::to_string(co["code_len"].get<int>()) + ", table " +
           co["table"].get<std::string>().substr(0, 64) + "...)";
}

// Largest/smallest line step seen in the truth, to make sure the fixtures keep
// exercising the long-form paths (huge gaps, negative deltas).
void check_line_delta_coverage(const json& doc) {
    int max_delta = 0, min_delta = 0;
    for (const json& co : doc["code_objects"]) {
        int prev = co["firstlineno"].get<int>();
        for (const json& run : co["lines"]) {
            if (run[2].is_null()) continue;
            const int line = run[2].get<int>();
            max_delta = std::max(max_delta, line - prev);
            min_delta = std::min(min_delta, line - prev);
            prev = line;
        }
    }
    CHECK(max_delta >= 4000);
    CHECK(min_delta <= -500);
}

// ---------------------------------------------------------------------------
// Per-version checks against the interpreter's truth
// ---------------------------------------------------------------------------

// 3.8 / 3.9: co_lnotab, truth from PyCode_Addr2Line for every code unit.
std::string first_lnotab_mismatch(const json& co) {
    const Bytes table = from_hex(co["table"].get<std::string>());
    const int first = co["firstlineno"].get<int>();
    const size_t units = co["code_len"].get<size_t>() / 2;
    const auto truth = expand_lines(co["lines"], units);
    for (size_t u = 0; u < units; ++u) {
        REQUIRE(truth[u].has_value());
        for (int64_t off : {int64_t(2 * u), int64_t(2 * u + 1)}) {
            const int got = stackscope::lnotab_line(table, first, off);
            if (got != *truth[u])
                return "offset " + std::to_string(off) + ": expected " + std::to_string(*truth[u]) + ", got " +
                       std::to_string(got);
        }
    }
    const int neg = stackscope::lnotab_line(table, first, -1);
    if (neg != co["negative_offset_line"].get<int>())
        return "offset -1: expected " + std::to_string(co["negative_offset_line"].get<int>()) + ", got " +
               std::to_string(neg);
    return "";
}

// 3.10: co_linetable (PEP 626), truth from co_lines() for every code unit.
std::string first_linetable310_mismatch(const json& co) {
    const Bytes table = from_hex(co["table"].get<std::string>());
    const int first = co["firstlineno"].get<int>();
    const size_t units = co["code_len"].get<size_t>() / 2;
    const auto truth = expand_lines(co["lines"], units);
    for (size_t u = 0; u < units; ++u) {
        for (int64_t off : {int64_t(2 * u), int64_t(2 * u + 1)}) {
            const auto got = stackscope::linetable310_line(table, first, off);
            if (got != truth[u])
                return "offset " + std::to_string(off) + ": expected " + show(truth[u]) + ", got " + show(got);
        }
    }
    for (int64_t off : {int64_t(-1), int64_t(-2), int64_t(-1000)}) {
        const auto got = stackscope::linetable310_line(table, first, off);
        if (got != co["negative_offset_line"].get<int>())
            return "offset " + std::to_string(off) + ": expected " +
                   std::to_string(co["negative_offset_line"].get<int>()) + ", got " + show(got);
    }
    // Past the end of the code there is no line.
    const auto past = stackscope::linetable310_line(table, first, co["code_len"].get<int64_t>());
    if (past) return "offset code_len: expected None, got " + show(past);
    return "";
}

// 3.11+: location table vs co_positions()/co_lines().
std::string first_locations_mismatch(const json& co) {
    const Bytes table = from_hex(co["table"].get<std::string>());
    const int first = co["firstlineno"].get<int>();
    const size_t units = co["code_len"].get<size_t>() / 2;
    const auto truth_pos = expand_positions(co["positions"], units);
    const auto truth_lines = expand_lines(co["lines"], units);

    const std::vector<Location> locs = stackscope::decode_locations(table, first);
    // The entries tile the code exactly: contiguous, non-empty, [0, units).
    uint32_t expect_start = 0;
    for (size_t i = 0; i < locs.size(); ++i) {
        if (locs[i].start != expect_start)
            return "entry " + std::to_string(i) + " starts at " + std::to_string(locs[i].start) + ", expected " +
                   std::to_string(expect_start);
        if (locs[i].end <= locs[i].start || locs[i].end - locs[i].start > 8)
            return "entry " + std::to_string(i) + " has bad length";
        expect_start = locs[i].end;
    }
    if (expect_start != units)
        return "entries cover " + std::to_string(expect_start) + " code units, code has " + std::to_string(units);

    for (const Location& loc : locs) {
        const Pos got{loc.line, loc.end_line, loc.column, loc.end_column};
        for (uint32_t u = loc.start; u < loc.end; ++u) {
            if (!(got == truth_pos[u]))
                return "code unit " + std::to_string(u) + ": co_positions " + show(truth_pos[u]) + ", decoded " +
                       show(got);
        }
    }
    for (uint32_t u = 0; u < units; ++u) {
        const auto got = stackscope::location_line(table, first, u);
        if (got != truth_lines[u])
            return "location_line(" + std::to_string(u) + "): co_lines " + show(truth_lines[u]) + ", got " + show(got);
    }
    const auto past = stackscope::location_line(table, first, static_cast<uint32_t>(units));
    if (past) return "location_line(code_len/2): expected None, got " + show(past);
    return "";
}

std::string first_exception_mismatch(const json& co) {
    const Bytes table = from_hex(co["exception_table"].get<std::string>());
    const json& truth = co["exceptions"];
    const std::vector<ExceptionEntry> got = stackscope::decode_exception_table(table);
    if (got.size() != truth.size())
        return "decoded " + std::to_string(got.size()) + " entries, dis reports " + std::to_string(truth.size());
    for (size_t i = 0; i < got.size(); ++i) {
        const json& t = truth[i];
        const ExceptionEntry& e = got[i];
        if (e.start != t[0].get<uint32_t>() || e.end != t[1].get<uint32_t>() || e.target != t[2].get<uint32_t>() ||
            e.depth != t[3].get<uint32_t>() || e.lasti != (t[4].get<int>() != 0)) {
            std::ostringstream os;
            os << "entry " << i << ": dis " << t.dump() << ", decoded [" << e.start << "," << e.end << "," << e.target
               << "," << e.depth << "," << (e.lasti ? 1 : 0) << "]";
            return os.str();
        }
    }
    return "";
}

}  // namespace

TEST_CASE("lnotab_line matches CPython 3.8/3.9 (PyCode_Addr2Line)", "[line_tables][fixtures]") {
    const int minor = GENERATE(8, 9);
    INFO("Python 3." << minor);
    const json doc = load_fixture(minor);
    REQUIRE(doc["format"] == "lnotab");
    check_line_delta_coverage(doc);
    for (const json& co : doc["code_objects"]) {
        INFO(describe(co));
        CHECK(first_lnotab_mismatch(co) == "");
    }
}

TEST_CASE("linetable310_line matches CPython 3.10 (co_lines)", "[line_tables][fixtures]") {
    const json doc = load_fixture(10);
    REQUIRE(doc["format"] == "linetable310");
    check_line_delta_coverage(doc);
    bool saw_no_line = false;
    for (const json& co : doc["code_objects"]) {
        INFO(describe(co));
        for (const json& run : co["lines"]) saw_no_line |= run[2].is_null();
        CHECK(first_linetable310_mismatch(co) == "");
    }
    CHECK(saw_no_line);  // the fixture exercises the -128 "no line" marker
}

TEST_CASE("location tables match CPython 3.11+ (co_positions, co_lines)", "[line_tables][fixtures]") {
    const int minor = GENERATE(11, 12, 13);
    INFO("Python 3." << minor);
    const json doc = load_fixture(minor);
    REQUIRE(doc["format"] == "locations");
    check_line_delta_coverage(doc);
    int max_column = 0;
    bool saw_no_location = false;
    for (const json& co : doc["code_objects"]) {
        INFO(describe(co));
        for (const json& run : co["positions"]) {
            if (!run[4].is_null()) max_column = std::max(max_column, run[4].get<int>());
            saw_no_location |= run[2].is_null();
        }
        CHECK(first_locations_mismatch(co) == "");
    }
    CHECK(max_column > 4095);  // 3-chunk column varints are exercised
    CHECK(saw_no_location);
}

TEST_CASE("decode_exception_table matches CPython 3.11+ (dis._parse_exception_table)", "[line_tables][fixtures]") {
    const int minor = GENERATE(11, 12, 13);
    INFO("Python 3." << minor);
    const json doc = load_fixture(minor);
    size_t entries = 0;
    uint32_t max_end = 0;
    bool saw_lasti = false;
    for (const json& co : doc["code_objects"]) {
        INFO(co["name"].get<std::string>() << " exception table " << co["exception_table"].get<std::string>());
        for (const json& e : co["exceptions"]) {
            ++entries;
            max_end = std::max(max_end, e[1].get<uint32_t>());
            saw_lasti |= e[4].get<int>() != 0;
        }
        CHECK(first_exception_mismatch(co) == "");
    }
    CHECK(entries >= 50);
    CHECK(max_end > 4095);  // 3-chunk big-endian varints are exercised
    CHECK(saw_lasti);
}

// ---------------------------------------------------------------------------
// Hand-written cases
// ---------------------------------------------------------------------------

TEST_CASE("lnotab_line hand-written cases", "[line_tables]") {
    SECTION("empty table: every offset is on the first line") {
        const Bytes t;
        CHECK(stackscope::lnotab_line(t, 7, 0) == 7);
        CHECK(stackscope::lnotab_line(t, 7, 100) == 7);
        CHECK(stackscope::lnotab_line(t, 7, -1) == 7);
    }
    SECTION("signed line deltas and zero-byte pairs for big gaps") {
        // +1 line at 4, then +127+127+6 at 10, then -1 (0xff) at 12
        const Bytes t{4, 1, 6, 127, 0, 127, 0, 6, 2, 0xff};
        CHECK(stackscope::lnotab_line(t, 10, 0) == 10);
        CHECK(stackscope::lnotab_line(t, 10, 3) == 10);
        CHECK(stackscope::lnotab_line(t, 10, 4) == 11);
        CHECK(stackscope::lnotab_line(t, 10, 9) == 11);
        CHECK(stackscope::lnotab_line(t, 10, 10) == 11 + 260);
        CHECK(stackscope::lnotab_line(t, 10, 11) == 11 + 260);
        CHECK(stackscope::lnotab_line(t, 10, 12) == 11 + 260 - 1);
        CHECK(stackscope::lnotab_line(t, 10, 1000) == 11 + 260 - 1);
        CHECK(stackscope::lnotab_line(t, 10, -1) == 10);
    }
    SECTION("large byte gaps: (255, 0) pairs") {
        const Bytes t{255, 0, 45, 3};
        CHECK(stackscope::lnotab_line(t, 1, 299) == 1);
        CHECK(stackscope::lnotab_line(t, 1, 300) == 4);
    }
    SECTION("odd-length table never reads past the span") {
        const Bytes t{4, 1, 6};
        try {
            CHECK(stackscope::lnotab_line(t, 1, 4) == 2);
            (void)stackscope::lnotab_line(t, 1, 100);
        } catch (const Error&) {
            SUCCEED("rejected as malformed");
        }
    }
}

TEST_CASE("linetable310_line hand-written cases", "[line_tables]") {
    SECTION("empty table") {
        const Bytes t;
        CHECK(stackscope::linetable310_line(t, 5, 0) == std::nullopt);
        CHECK(stackscope::linetable310_line(t, 5, -1) == 5);
    }
    SECTION("negative offsets are on the first line") {
        const Bytes t{6, 0, 4, 1};
        CHECK(stackscope::linetable310_line(t, 42, -1) == 42);
        CHECK(stackscope::linetable310_line(t, 42, -2) == 42);
        CHECK(stackscope::linetable310_line(t, 42, INT64_MIN) == 42);
    }
    SECTION("ranges, no-line marker, zero-length entries and signed deltas") {
        // [0,6) line 1+0; [6,10) no line; (0,+127) then [10,14) +3 more; [14,16) -1; 254+4 split range with 0 delta
        const Bytes t{6, 0, 4, 0x80, 0, 127, 4, 3, 2, 0xff, 254, 2, 4, 0};
        const int first = 1;
        CHECK(stackscope::linetable310_line(t, first, 0) == 1);
        CHECK(stackscope::linetable310_line(t, first, 5) == 1);
        CHECK(stackscope::linetable310_line(t, first, 6) == std::nullopt);
        CHECK(stackscope::linetable310_line(t, first, 9) == std::nullopt);
        CHECK(stackscope::linetable310_line(t, first, 10) == 1 + 127 + 3);
        CHECK(stackscope::linetable310_line(t, first, 13) == 131);
        CHECK(stackscope::linetable310_line(t, first, 14) == 130);
        CHECK(stackscope::linetable310_line(t, first, 16) == 132);
        CHECK(stackscope::linetable310_line(t, first, 16 + 253) == 132);
        CHECK(stackscope::linetable310_line(t, first, 16 + 254) == 132);
        CHECK(stackscope::linetable310_line(t, first, 16 + 257) == 132);
        CHECK(stackscope::linetable310_line(t, first, 16 + 258) == std::nullopt);
    }
    SECTION("odd-length table never reads past the span") {
        const Bytes t{6, 0, 4};
        try {
            CHECK(stackscope::linetable310_line(t, 1, 2) == 1);
            (void)stackscope::linetable310_line(t, 1, 8);
        } catch (const Error&) {
            SUCCEED("rejected as malformed");
        }
    }
}

namespace {
// First byte of a 3.11+ location entry.
uint8_t loc_head(unsigned code, unsigned length_units) {
    return static_cast<uint8_t>(0x80 | (code << 3) | (length_units - 1));
}
}  // namespace

TEST_CASE("decode_locations hand-written forms", "[line_tables]") {
    SECTION("empty table") {
        const Bytes t;
        CHECK(stackscope::decode_locations(t, 1).empty());
        CHECK(stackscope::location_line(t, 1, 0) == std::nullopt);
    }
    SECTION("every entry kind") {
        const Bytes t{
            // short form code 3, 2 units: column 3*8 + 5 = 29, end column 29 + 4
            loc_head(3, 2),
            0x54,
            // one-line form, line +2 (code 12), 1 unit, columns 200..255 (single bytes, no +1 bias)
            loc_head(12, 1),
            200,
            255,
            // one-line form, line +0 (code 10), column 0 is a real column
            loc_head(10, 1),
            0,
            0,
            // no-column form, line -3 (svarint 7)
            loc_head(13, 8),
            0x07,
            // no location
            loc_head(15, 3),
            // long form: line +5000 (svarint 10000 = 16 | 28<<6 | 2<<12), end line +64 (0x40 0x01),
            // column 0 -> None, end column 4096 (raw 4097 = 1 | 0<<6 | 1<<12)
            loc_head(14, 4),
            0x50,
            0x5C,
            0x02,
            0x40,
            0x01,
            0x00,
            0x41,
            0x40,
            0x01,
            // long form: line delta 0, end line delta 0, column 63 (raw 64), end column 62 (raw 63)
            loc_head(14, 1),
            0x00,
            0x00,
            0x40,
            0x01,
            0x3F,
        };
        const auto locs = stackscope::decode_locations(t, 100);
        REQUIRE(locs.size() == 7);
        CHECK(locs[0].start == 0);
        CHECK(locs[0].end == 2);
        CHECK(locs[0].line == 100);
        CHECK(locs[0].end_line == 100);
        CHECK(locs[0].column == 29);
        CHECK(locs[0].end_column == 33);

        CHECK(locs[1].start == 2);
        CHECK(locs[1].end == 3);
        CHECK(locs[1].line == 102);
        CHECK(locs[1].end_line == 102);
        CHECK(locs[1].column == 200);
        CHECK(locs[1].end_column == 255);

        CHECK(locs[2].line == 102);
        CHECK(locs[2].column == 0);
        CHECK(locs[2].end_column == 0);

        CHECK(locs[3].start == 4);
        CHECK(locs[3].end == 12);
        CHECK(locs[3].line == 99);
        CHECK(locs[3].end_line == 99);
        CHECK(locs[3].column == std::nullopt);
        CHECK(locs[3].end_column == std::nullopt);

        CHECK(locs[4].start == 12);
        CHECK(locs[4].end == 15);
        CHECK(locs[4].line == std::nullopt);
        CHECK(locs[4].end_line == std::nullopt);
        CHECK(locs[4].column == std::nullopt);

        CHECK(locs[5].start == 15);
        CHECK(locs[5].end == 19);
        CHECK(locs[5].line == 5099);  // no-location entries do not disturb the running line
        CHECK(locs[5].end_line == 5099 + 64);
        CHECK(locs[5].column == std::nullopt);
        CHECK(locs[5].end_column == 4096);

        CHECK(locs[6].line == 5099);
        CHECK(locs[6].end_line == 5099);
        CHECK(locs[6].column == 63);
        CHECK(locs[6].end_column == 62);

        CHECK(stackscope::location_line(t, 100, 0) == 100);
        CHECK(stackscope::location_line(t, 100, 11) == 99);
        CHECK(stackscope::location_line(t, 100, 12) == std::nullopt);
        CHECK(stackscope::location_line(t, 100, 18) == 5099);
        CHECK(stackscope::location_line(t, 100, 19) == 5099);
        CHECK(stackscope::location_line(t, 100, 20) == std::nullopt);
    }
    SECTION("signed varint edge cases") {
        struct Case {
            Bytes svarint;
            int delta;
        };
        const std::vector<Case> cases = {
            {{0x00}, 0},
            {{0x01}, 0},  // "-0"
            {{0x02}, 1},
            {{0x03}, -1},
            {{0x3E}, 31},
            {{0x3F}, -31},
            {{0x40, 0x01}, 32},
            {{0x41, 0x01}, -32},
            {{0x7F, 0x3F}, -2047},
            {{0x40, 0x40, 0x01}, 2048},
            {{0x7F, 0x7F, 0x7F, 0x7F, 0x3F}, -((1 << 29) - 1)},
        };
        for (const Case& c : cases) {
            Bytes t{loc_head(13, 1)};
            t.insert(t.end(), c.svarint.begin(), c.svarint.end());
            INFO("delta " << c.delta);
            const auto locs = stackscope::decode_locations(t, 1000);
            REQUIRE(locs.size() == 1);
            CHECK(locs[0].line == 1000 + c.delta);
        }
    }
    SECTION("unsigned varints up to six chunks (30-bit shift) are accepted") {
        // long form: line +0, end line +2^30 (six chunks), column 4094 (raw 4095), end column None
        const Bytes t{loc_head(14, 2), 0x00, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01, 0x7F, 0x3F, 0x00};
        const auto locs = stackscope::decode_locations(t, 1);
        REQUIRE(locs.size() == 1);
        CHECK(locs[0].end == 2);
        CHECK(locs[0].line == 1);
        CHECK(locs[0].end_line == 1 + (1 << 30));
        CHECK(locs[0].column == 4094);
        CHECK(locs[0].end_column == std::nullopt);
    }
}

TEST_CASE("malformed location tables throw stackscope::Error", "[line_tables]") {
    const std::vector<Bytes> bad = {
        {0x00},                                                       // entry without its start bit
        {loc_head(0, 1), 0x10, 0x05},                                 // second entry without start bit
        {loc_head(3, 1)},                                             // short form missing its second byte
        {loc_head(11, 1), 4},                                         // one-line form missing end column
        {loc_head(11, 1)},                                            // one-line form missing both columns
        {loc_head(13, 1)},                                            // no-column form missing its delta
        {loc_head(13, 1), 0x40},                                      // varint continues past the end
        {loc_head(14, 1), 0x02, 0x00, 0x01},                          // long form missing end column
        {loc_head(14, 1), 0x02},                                      // long form missing three varints
        {loc_head(14, 1), 0x42, 0x40},                                // long form truncated inside a varint
        {loc_head(13, 1), 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x00},  // over-long varint
    };
    for (const Bytes& t : bad) {
        INFO("table of " << t.size() << " bytes starting 0x" << std::hex << int(t[0]));
        CHECK_THROWS_AS(stackscope::decode_locations(t, 1), Error);
        // location_line stops at the entry it needs: look up a unit past the broken part.
        CHECK_THROWS_AS(stackscope::location_line(t, 1, 1000), Error);
    }
}

TEST_CASE("decode_exception_table hand-written cases", "[line_tables]") {
    SECTION("empty table") { CHECK(stackscope::decode_exception_table(Bytes{}).empty()); }
    SECTION("big-endian varints, depth and lasti") {
        const Bytes t{
            // start 4, length 6, target 20, depth 0 lasti 0
            0x84,
            0x06,
            0x14,
            0x00,
            // start 100 (1<<6 | 36), length 5, target 200 (3<<6 | 8), depth 2 lasti 1
            0xC1,
            0x24,
            0x05,
            0x43,
            0x08,
            0x05,
            // start 4096 (1<<12), length 63, target 262143 (3 chunks of 63), depth 63 lasti 0 (126 = 1<<6 | 62)
            0xC1,
            0x40,
            0x00,
            0x3F,
            0x7F,
            0x7F,
            0x3F,
            0x41,
            0x3E,
        };
        const auto e = stackscope::decode_exception_table(t);
        REQUIRE(e.size() == 3);
        CHECK(e[0].start == 4);
        CHECK(e[0].end == 10);
        CHECK(e[0].target == 20);
        CHECK(e[0].depth == 0);
        CHECK_FALSE(e[0].lasti);
        CHECK(e[1].start == 100);
        CHECK(e[1].end == 105);
        CHECK(e[1].target == 200);
        CHECK(e[1].depth == 2);
        CHECK(e[1].lasti);
        CHECK(e[2].start == 4096);
        CHECK(e[2].end == 4096 + 63);
        CHECK(e[2].target == 262143);
        CHECK(e[2].depth == 63);
        CHECK_FALSE(e[2].lasti);
    }
    SECTION("malformed tables throw") {
        const std::vector<Bytes> bad = {
            {0x04, 0x06, 0x14, 0x00},                                      // entry without its start bit
            {0x84, 0x06, 0x14, 0x00, 0x04, 0x06, 0x14, 0x00},              // second entry without start bit
            {0x84},                                                        // start only
            {0x84, 0x06},                                                  // no target
            {0x84, 0x06, 0x14},                                            // no depth/lasti
            {0x84, 0x06, 0x14, 0x40},                                      // varint runs off the end
            {0xC0, 0x40, 0x40, 0x40, 0x40, 0x40, 0x00, 0x01, 0x01, 0x00},  // over-long varint
            // start 0xFFFFFFFF-ish + length wraps around uint32
            {0xC3, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0x02, 0x00, 0x00},
        };
        for (const Bytes& t : bad) {
            INFO("table of " << t.size() << " bytes");
            CHECK_THROWS_AS(stackscope::decode_exception_table(t), Error);
        }
    }
}
