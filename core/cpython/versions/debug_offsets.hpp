#pragma once
// The cookie a 3.13+ _PyRuntime starts with: the first 8 bytes of its _Py_DebugOffsets
// (CPython's _Py_Debug_Cookie). The one spelling of it in the code base; the scripts that
// need it (tests/unit/fixtures/make_debug_offsets.py, tests/fuzz/make_seeds.py) read it here.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace stackscope {

inline constexpr std::string_view kDebugOffsetsCookie{"xdebugpy"};
static_assert(kDebugOffsetsCookie.size() == 8);

// Whether `bytes` starts with the cookie.
inline bool starts_with_debug_offsets_cookie(std::span<const uint8_t> bytes) {
    return bytes.size() >= kDebugOffsetsCookie.size() &&
           std::memcmp(bytes.data(), kDebugOffsetsCookie.data(), kDebugOffsetsCookie.size()) == 0;
}

}  // namespace stackscope
