#pragma once
// A Python function's free variables and what their cells hold, from outside.
#include <cstdint>
#include <string>
#include <vector>

#include "cpython/object_reader.hpp"

namespace stackscope {

// What the callers allow: the library closures they read have at most four cells.
constexpr int64_t kMaxLibraryClosureCells = 64;

struct ClosureVariable {
    std::string name;
    uint64_t value = 0;  // the cell's contents; 0 for an empty cell
};

// The free variables of `function` (a function object) in its closure's order; empty without
// a closure. Throws Error when the function, its code or its cells cannot be read, or when it
// has more than `max_cells` (the callers look into library closures of a few cells, once per
// item of long lists: a hostile closure must not cost each of them much).
std::vector<ClosureVariable> closure_variables(ObjectReader& objects, uint64_t function, int64_t max_cells);

// The function's __name__ when `callable` is a function object; "" otherwise.
std::string function_name_of(ObjectReader& objects, uint64_t callable);

}  // namespace stackscope
