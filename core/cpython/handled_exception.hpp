#pragma once
// The exception a thread is handling (what sys.exc_info() would return in it).
#include <cstdint>
#include <optional>

#include "stackscope/model.hpp"
#include "cpython/object_reader.hpp"

namespace stackscope {

// Follows tstate->exc_info and its previous_item chain to the first entry that holds an
// exception; nullopt when there is none, or when the chain cannot be read.
std::optional<HandledException> read_handled_exception(ObjectReader& objects, uint64_t tstate);

}  // namespace stackscope
