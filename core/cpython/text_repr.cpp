#include "cpython/text_repr.hpp"

#include <algorithm>

namespace stackscope {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex(std::u32string& out, uint32_t value, int digits) {
    for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
        out += static_cast<char32_t>(kHexDigits[(value >> shift) & 0xf]);
}

// The quote unicode_repr and bytes_repr choose.
template <typename Range>
char32_t quote_for(const Range& text) {
    bool single = false, dbl = false;
    for (const auto c : text) {
        if (c == '\'') single = true;
        else if (c == '"') dbl = true;
    }
    return single && !dbl ? U'"' : U'\'';
}

// The escapes both reprs share; false when `c` is not one of them.
bool append_common_escape(std::u32string& out, uint32_t c, char32_t quote) {
    if (c == quote || c == '\\') {
        out += U'\\';
        out += static_cast<char32_t>(c);
    } else if (c == '\t') {
        out += U"\\t";
    } else if (c == '\n') {
        out += U"\\n";
    } else if (c == '\r') {
        out += U"\\r";
    } else if (c < ' ' || c == 0x7f) {
        out += U"\\x";
        append_hex(out, c, 2);
    } else {
        return false;
    }
    return true;
}

}  // namespace

std::u32string str_repr(std::u32string_view text, std::span<const CodepointRange> printable) {
    const char32_t quote = quote_for(text);
    std::u32string out;
    out.reserve(text.size() + 2);
    out += quote;
    for (const char32_t c : text) {
        const auto cp = static_cast<uint32_t>(c);
        if (append_common_escape(out, cp, quote)) continue;
        if (cp < 0x7f || is_printable(printable, cp)) {
            out += c;
        } else if (cp <= 0xff) {
            out += U"\\x";
            append_hex(out, cp, 2);
        } else if (cp <= 0xffff) {
            out += U"\\u";
            append_hex(out, cp, 4);
        } else {
            out += U"\\U";
            append_hex(out, cp, 8);
        }
    }
    out += quote;
    return out;
}

std::u32string bytes_repr(std::span<const uint8_t> data) {
    const char32_t quote = quote_for(data);
    std::u32string out = U"b";
    out += quote;
    for (const uint8_t b : data) {
        if (append_common_escape(out, b, quote)) continue;
        if (b >= 0x80) {
            out += U"\\x";
            append_hex(out, b, 2);
        } else {
            out += static_cast<char32_t>(b);
        }
    }
    out += quote;
    return out;
}

std::u32string_view python_tail(std::u32string_view text, int64_t first) {
    const auto size = static_cast<int64_t>(text.size());
    if (first < 0) first = std::max<int64_t>(0, size + first);
    if (first >= size) return {};
    return text.substr(static_cast<size_t>(first));
}

size_t truncation_head(size_t limit) { return limit >= 3 ? (limit - 3) / 2 : 0; }

size_t truncation_tail(size_t limit) { return limit >= 3 ? limit - 3 - truncation_head(limit) : 0; }

std::u32string truncate_middle(std::u32string_view text, size_t limit) {
    if (text.size() <= limit) return std::u32string(text);
    const size_t i = truncation_head(limit), j = truncation_tail(limit);
    std::u32string out(text.substr(0, i));
    out += U"...";
    out += python_tail(text, static_cast<int64_t>(text.size()) - static_cast<int64_t>(j));
    return out;
}

std::u32string from_ascii(std::string_view ascii) {
    std::u32string out(ascii.size(), U'\0');
    for (size_t i = 0; i < ascii.size(); ++i) out[i] = static_cast<char32_t>(static_cast<unsigned char>(ascii[i]));
    return out;
}

std::string to_utf8(std::u32string_view text) {
    // Most text is ASCII: one byte per character.
    if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; })) {
        std::string ascii(text.size(), '\0');
        for (size_t i = 0; i < text.size(); ++i) ascii[i] = static_cast<char>(text[i]);
        return ascii;
    }
    std::string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
        const auto cp = static_cast<uint32_t>(c);
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            // A lone surrogate is escaped by the repr before it gets here; one that is not
            // (a class name) is written as Python's surrogateescape-free UTF-8 would refuse: U+FFFD.
            if (cp >= 0xd800 && cp <= 0xdfff) {
                out += "\xef\xbf\xbd";
                continue;
            }
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x110000) {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += "\xef\xbf\xbd";
        }
    }
    return out;
}

std::u32string from_utf8(std::string_view utf8) {
    if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
        return from_ascii(utf8);
    std::u32string out;
    out.reserve(utf8.size());
    for (size_t i = 0; i < utf8.size();) {
        const auto b = static_cast<unsigned char>(utf8[i]);
        const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > utf8.size()) {
            out += U'\ufffd';
            ++i;
            continue;
        }
        uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
        bool valid = true;
        for (size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(utf8[i + k]);
            if ((c & 0xc0) != 0x80) valid = false;
            cp = (cp << 6) | (c & 0x3f);
        }
        out += valid ? static_cast<char32_t>(cp) : U'\ufffd';
        i += valid ? n : 1;
    }
    return out;
}

}  // namespace stackscope
