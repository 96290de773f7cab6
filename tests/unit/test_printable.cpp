#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "render/printable.hpp"

using namespace stackscope;

namespace {

// The escaping rules one byte at a time, as an independent oracle of the word-at-a-time scan.
std::string escaped_bytewise(const std::string& text) {
    std::string out;
    char buf[8];
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
        if (c < 0x20 || c == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
            std::snprintf(buf, sizeof buf, "\\u%04x", next);
            out += buf;
            ++i;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("printable escapes C0, DEL and C1 controls and nothing else", "[render]") {
    CHECK(printable("plain text, more than eight bytes long") == "plain text, more than eight bytes long");
    CHECK(printable("tab\there") == "tab\\x09here");
    CHECK(printable("\x7f") == "\\x7f");
    CHECK(printable("next line: \xc2\x85.") == "next line: \\u0085.");
    CHECK(printable("no-break space: \xc2\xa0 stays") == "no-break space: \xc2\xa0 stays");
    CHECK(printable("\xc2") == "\xc2");
    CHECK(printable("") == "");
}

TEST_CASE("printable: each byte value at each place of a word, after any clean prefix", "[render]") {
    // Every byte value at each offset of texts of 1-35 bytes, before and after a clean run, so
    // that it falls in a 16-byte block, in a whole 8-byte word, on their edges and in the bytes
    // after them.
    for (size_t length = 1; length < 36; ++length) {
        for (size_t at = 0; at < length; ++at) {
            for (int value = 0; value < 256; ++value) {
                std::string text(length, 'a');
                text[at] = static_cast<char>(value);
                if (at + 1 < length) text[at + 1] = static_cast<char>(0x85);  // a C1 control after 0xc2
                INFO("length " << length << ", byte " << value << " at " << at);
                REQUIRE(printable(text) == escaped_bytewise(text));
                std::string appended = "kept ";
                append_printable(appended, text);
                REQUIRE(appended == "kept " + escaped_bytewise(text));
            }
        }
    }
}
