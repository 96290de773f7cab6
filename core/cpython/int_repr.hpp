#pragma once
// int.__repr__ from an int's 30-bit digits (least significant first), as CPython's
// long_to_decimal_string converts them.
#include <cstdint>
#include <span>
#include <string>

namespace stackscope {

// The decimal digits of the magnitude (no sign); "0" for no digits.
std::string decimal_digits(std::span<const uint32_t> digits);

}  // namespace stackscope
