#pragma once
// float.__repr__ of CPython 3.8+ (PyOS_double_to_string with 'r' and Py_DTSF_ADD_DOT_0).
#include <string>

namespace stackscope {

// The shortest digits that round-trip, positional for decimal exponents -5 < e < 16 (`0.0001`,
// `1234.0`), else scientific with a signed two-digit-minimum exponent (`1e-05`, `1e+16`);
// `nan`, `inf`, `-inf`, `-0.0`.
std::string float_repr(double value);

}  // namespace stackscope
