#pragma once
// Each frame's bound variables (--locals): arguments, then the other locals, cells and free
// variables in the frame's own order, a cell's contents rather than the cell, with each value's
// bounded repr. Unbound slots (not assigned yet, deleted, an empty cell) are left out, as
// locals() leaves them out; a module or class body shows none (its names live in a dict).
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpython/code_variables.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/object_repr.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

class FrameLocals {
public:
    FrameLocals(ObjectReader& objects, FrameReader& frames, ObjectRepr& reprs)
        : objects_(objects), frames_(frames), reprs_(reprs), variables_(objects) {}

    // Fills each frame's locals, and those of the stacks its contexts hold (a
    // @contextmanager's generator); a frame whose variables cannot be read gets locals_error
    // and an empty list, and the others are still read.
    void add_locals(Stack& stack);

private:
    std::vector<Local> read_locals(const Frame& frame);
    const CodeVariables& variables_of(uint64_t code);
    void add_context_locals(Context& context, int depth);
    void add_stack_locals(Stack& stack, int depth);

    ObjectReader& objects_;
    FrameReader& frames_;
    ObjectRepr& reprs_;
    CodeVariablesReader variables_;
    // Code objects are immutable: their variables are read once per extraction.
    std::unordered_map<uint64_t, CodeVariables> codes_;
    static constexpr size_t kMaxNameBytes = 64 << 20;
    size_t name_bytes_ = 0;  // what codes_ holds of names, about
};

}  // namespace stackscope
