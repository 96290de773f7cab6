#include "cpython/float_repr.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace stackscope {

std::string float_repr(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
    // to_chars in scientific form gives the shortest round-tripping digits: d[.ddd]e±XX.
    char buf[64];
    const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    std::string_view text(buf, static_cast<size_t>(result.ptr - buf));
    std::string out;
    if (text.front() == '-') {
        out += '-';
        text.remove_prefix(1);
    }
    const size_t e = text.find('e');
    std::string digits;
    for (const char c : text.substr(0, e)) {
        if (c != '.') digits += c;
    }
    const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
    // CPython's format_float_short: decpt is where the decimal point falls after the first digit.
    const int decpt = exponent + 1;
    if (decpt <= -4 || decpt > 16) {
        out += digits[0];
        if (digits.size() > 1) out += "." + digits.substr(1);
        const int shown = decpt - 1;
        out += shown < 0 ? "e-" : "e+";
        const std::string magnitude = std::to_string(std::abs(shown));
        if (magnitude.size() < 2) out += '0';
        out += magnitude;
        return out;
    }
    if (decpt <= 0) {
        out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
        out += digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
    } else {
        out += digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
    }
    return out;
}

}  // namespace stackscope
