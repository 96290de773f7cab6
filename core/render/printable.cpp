#include "render/printable.hpp"

#include "stackscope/formatters.hpp"
#include "stackscope/hex.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace stackscope {

std::string printable(const std::string& text) {
    std::string out;
    append_printable(out, text);
    return out;
}

std::string printable_text(std::string_view text) {
    std::string out;
    append_printable(out, text);
    return out;
}

namespace {

// What may need escaping: C0 controls, DEL, and C1 controls (UTF-8 0xc2 0x80-0x9f).
bool needs_care(char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f || c == 0xc2;
}

// Whether one of the 8 bytes of `word` needs care, all 8 tested at once (the bit tricks
// "has a byte less than n" and "has a zero byte", exact as yes/no answers).
bool word_needs_care(uint64_t word) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    const auto has_zero = [](uint64_t w) { return (w - kOnes) & ~w & kHighs; };
    const uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
    return (below_space | has_zero(word ^ (kOnes * 0x7f)) | has_zero(word ^ (kOnes * 0xc2))) != 0;
}

// How many bytes at the start of `text` need no care: most text has nothing to escape, and
// the text of 10,000 tasks is megabytes.
size_t clean_prefix(std::string_view text) {
    size_t i = 0;
#ifdef __SSE2__
    // 16 bytes at a time where there are (x86-64 always has SSE2): file names are long.
    const __m128i below_space = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f),
                  c1_lead = _mm_set1_epi8(static_cast<char>(0xc2));
    for (; i + 16 <= text.size(); i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
        const __m128i care = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v),
                                          _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, c1_lead)));
        if (_mm_movemask_epi8(care) != 0) break;
    }
#endif
    for (uint64_t word = 0; i + sizeof word <= text.size(); i += sizeof word) {
        std::memcpy(&word, text.data() + i, sizeof word);
        if (word_needs_care(word)) break;
    }
    // The last few bytes (most names are shorter than a word) as one word padded with spaces.
    if (const size_t rest = text.size() - i; rest > 0 && rest < sizeof(uint64_t)) {
        uint64_t word = 0x2020202020202020ULL;
        std::memcpy(&word, text.data() + i, rest);
        if (!word_needs_care(word)) return text.size();
    }
    while (i < text.size() && !needs_care(text[i])) ++i;
    return i;
}

}  // namespace

void append_printable(std::string& out, std::string_view text) {
    const size_t clean = clean_prefix(text);
    out.append(text.data(), clean);
    if (clean == text.size()) return;
    out.reserve(out.size() + text.size() - clean);
    char buf[8];
    for (size_t i = clean; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(text[++i]));
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
}

std::string stack_subject(const StackRoot& root) {
    // An object asked for where no object could be read is named by its address.
    if (root.description.empty()) return root.kind == StackRootKind::Object ? " of " + hex(root.address) : "";
    std::string out = " of " + printable(root.description);
    if (root.thread_tid) out += ", running in thread " + std::to_string(*root.thread_tid);
    return out;
}

}  // namespace stackscope
