#pragma once
#include <cstdint>
#include <cstddef>
#include <string>

namespace stackscope {

// "0x" and lowercase digits, as Python's hex() and id() formatting show addresses.
inline std::string hex(uint64_t value) {
    char digits[16];
    size_t count = 0;
    do {
        digits[count++] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
    } while (value != 0);
    std::string out(2 + count, '0');
    out[1] = 'x';
    for (size_t i = 0; i < count; ++i) out[2 + i] = digits[count - 1 - i];
    return out;
}

}  // namespace stackscope
