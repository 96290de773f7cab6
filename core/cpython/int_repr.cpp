#include "cpython/int_repr.hpp"

#include <vector>

#include "cpython/versions/object_encodings.hpp"

namespace stackscope {

std::string decimal_digits(std::span<const uint32_t> digits) {
    constexpr uint32_t kBase = 1000000000;  // 10^9 per output word, as CPython's _PyLong_DECIMAL_BASE
    using encoding::LongDigits;
    std::vector<uint32_t> out;  // base 10^9, least significant first
    for (size_t k = digits.size(); k-- > 0;) {
        uint64_t carry = digits[k];
        for (uint32_t& word : out) {
            const uint64_t z = (uint64_t{word} << LongDigits::shift) + carry;
            carry = z / kBase;
            word = static_cast<uint32_t>(z - carry * kBase);
        }
        while (carry) {
            out.push_back(static_cast<uint32_t>(carry % kBase));
            carry /= kBase;
        }
    }
    if (out.empty()) return "0";
    std::string text = std::to_string(out.back());
    for (size_t k = out.size() - 1; k-- > 0;) {
        const std::string word = std::to_string(out[k]);
        text += std::string(9 - word.size(), '0') + word;
    }
    return text;
}

}  // namespace stackscope
