#pragma once
// One function per supported CPython minor version; registry.cpp maps versions onto them.
#include "python_layout.hpp"

namespace stackscope {

PythonLayout python_3_11_layout();
PythonLayout python_3_12_layout();
PythonLayout python_3_13_layout();

}  // namespace stackscope
