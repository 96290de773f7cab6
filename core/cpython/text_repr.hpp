#pragma once
// The text of repr(): str and bytes escaping as CPython's unicode_repr and bytes_repr write it,
// reprlib's middle truncation, and the code-point strings the repr is assembled in (reprlib
// counts characters, not bytes).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cpython/unicode_printable.hpp"

namespace stackscope {

// str.__repr__: single quotes unless the text has a single quote and no double quote; \\, the
// quote, \t \n \r escaped; other code points below 0x20, 0x7f and non-printable ones as
// \xNN, \uNNNN or \UNNNNNNNN.
std::u32string str_repr(std::u32string_view text, std::span<const CodepointRange> printable);
// bytes.__repr__: b'...', the same quote rule, \xNN outside 0x20-0x7e.
std::u32string bytes_repr(std::span<const uint8_t> data);

// text[first:] with Python's slice rule for a negative start (counted from the end, floored at 0).
std::u32string_view python_tail(std::u32string_view text, int64_t first);
// reprlib's cut of a text longer than `limit`: text[:i] + '...' + text[len-j:] with
// i = (limit-3)//2, j = limit-3-i (both at least 0).
std::u32string truncate_middle(std::u32string_view text, size_t limit);
// reprlib's i and j for a limit.
size_t truncation_head(size_t limit);
size_t truncation_tail(size_t limit);

std::u32string from_ascii(std::string_view ascii);
std::string to_utf8(std::u32string_view text);
// Decodes UTF-8 (the names C code keeps as char*); invalid bytes become U+FFFD.
std::u32string from_utf8(std::string_view utf8);

}  // namespace stackscope
