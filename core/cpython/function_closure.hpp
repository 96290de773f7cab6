#pragma once
// A Python function's free variables and what their cells hold, from outside.
#include <cstdint>
#include <string>
#include <vector>

#include "cpython/object_reader.hpp"

namespace stackscope {

struct ClosureVariable {
    std::string name;
    uint64_t value = 0;  // the cell's contents; 0 for an empty cell
};

// The free variables of `function` (a function object) in its closure's order; empty without
// a closure. Throws Error when the function, its code or its cells cannot be read.
std::vector<ClosureVariable> closure_variables(ObjectReader& objects, uint64_t function);

// The function's __name__ when `callable` is a function object; "" otherwise.
std::string function_name_of(ObjectReader& objects, uint64_t callable);

}  // namespace stackscope
