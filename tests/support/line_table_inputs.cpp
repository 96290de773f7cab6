// Fuzz entry points of the four table decoders of core/line_tables.hpp.
#include <cstdlib>
#include <cstring>

#include "stackscope/error.hpp"
#include "fuzz_inputs.hpp"
#include "cpython/exception_table.hpp"
#include "cpython/line_tables.hpp"

namespace stackscope_fuzz {

namespace {

template <typename T>
T take(std::span<const uint8_t>& data) {
    T value;
    std::memcpy(&value, data.data(), sizeof(T));
    data = data.subspan(sizeof(T));
    return value;
}

}  // namespace

Outcome lnotab(std::span<const uint8_t> data) {
    if (data.size() < 12) return Outcome::TooShort;
    const auto first_line = take<int32_t>(data);
    const auto byte_offset = take<int64_t>(data);
    try {
        (void)stackscope::lnotab_line(data, first_line, byte_offset);
        return Outcome::Value;
    } catch (const stackscope::Error&) {
        return Outcome::Error;
    }
}

Outcome linetable310(std::span<const uint8_t> data) {
    if (data.size() < 12) return Outcome::TooShort;
    const auto first_line = take<int32_t>(data);
    const auto byte_offset = take<int64_t>(data);
    try {
        (void)stackscope::linetable310_line(data, first_line, byte_offset);
        return Outcome::Value;
    } catch (const stackscope::Error&) {
        return Outcome::Error;
    }
}

Outcome locations(std::span<const uint8_t> data) {
    if (data.size() < 8) return Outcome::TooShort;
    const auto first_line = take<int32_t>(data);
    const auto code_unit = take<uint32_t>(data);
    std::vector<stackscope::Location> decoded;
    try {
        decoded = stackscope::decode_locations(data, first_line);
    } catch (const stackscope::Error&) {
        // A table that fails in full may still answer for a unit before the bad entry.
        try {
            (void)stackscope::location_line(data, first_line, code_unit);
        } catch (const stackscope::Error&) {}
        return Outcome::Error;
    }
    // The one-unit lookup must agree with the full decode.
    std::optional<int> expected;
    uint32_t previous_end = 0;
    for (const stackscope::Location& loc : decoded) {
        require(loc.start == previous_end && loc.end > loc.start);
        previous_end = loc.end;
        if (loc.start <= code_unit && code_unit < loc.end) expected = loc.line;
    }
    require(stackscope::location_line(data, first_line, code_unit) == expected);
    return Outcome::Value;
}

Outcome exception_table(std::span<const uint8_t> data) {
    try {
        for (const stackscope::ExceptionEntry& e : stackscope::decode_exception_table(data)) require(e.start <= e.end);
        return Outcome::Value;
    } catch (const stackscope::Error&) {
        return Outcome::Error;
    }
}

}  // namespace stackscope_fuzz
