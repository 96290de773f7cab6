#pragma once
// repr() of objects in the target, rebuilt from memory without running any of its code, and
// bounded as reprlib.Repr bounds it: what descriptions, leaves, ExitStack callback arguments
// and --locals show.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cpython/asyncio_repr.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/object_reader.hpp"

namespace stackscope {

// reprlib.Repr's limits (its attribute names without the underscore); the defaults are the
// ones the tool uses everywhere, so that a scenario can compute the expected text in-process
// with reprlib.Repr(maxlevel=3, maxstring=80, ...).
struct ReprBounds {
    int max_level = 3;
    size_t max_string = 80;
    size_t max_long = 80;
    size_t max_list = 6;
    size_t max_tuple = 6;
    size_t max_dict = 4;
    size_t max_set = 6;
    size_t max_frozenset = 6;
    size_t max_other = 80;
};

// Objects are mutable: nothing read about an object's contents is kept between calls.
class ObjectRepr {
public:
    ObjectRepr(ObjectReader& objects, FrameReader& frames, ReprBounds bounds = {})
        : objects_(objects), asyncio_(objects, frames), bounds_(bounds) {}

    // reprlib.Repr(bounds).repr(object) as the target's interpreter would print it; a class-level
    // __repr__ written in Python is not run (the object shows as object.__repr__ does).
    // `<unreadable 0x...>` for memory that cannot be read. Throws only Error(Internal).
    std::string repr(uint64_t object);

    // How upstream stackscope names a callable (its format_funcname): `repr(self).name` for a
    // bound method, `module.qualname` for anything with both, else repr(callable).
    std::string function_name(uint64_t callable);

private:
    ObjectReader& objects_;
    AsyncioRepr asyncio_;
    ReprBounds bounds_;
};

}  // namespace stackscope
