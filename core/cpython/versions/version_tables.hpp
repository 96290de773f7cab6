#pragma once
// One function per supported CPython minor version; registry.cpp maps versions onto them.
#include "cpython/python_layout.hpp"

namespace stackscope {

// Fields every GIL build shares; each table calls it first.
void set_gil_build_object_layout(PythonLayout& layout);
// The frame-object era (3.8-3.10); calls set_gil_build_object_layout.
void set_frame_object_layout(PythonLayout& layout);

PythonLayout python_3_8_layout();
PythonLayout python_3_9_layout();
PythonLayout python_3_10_layout();

PythonLayout python_3_11_layout();
PythonLayout python_3_12_layout();
PythonLayout python_3_13_layout();
PythonLayout python_3_14_layout();
PythonLayout python_3_15_layout();

}  // namespace stackscope
