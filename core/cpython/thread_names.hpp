#pragma once
// Python-level thread names, read from the target's threading._active registry (so it
// works on cores too, unlike /proc comm names).
#include <cstdint>
#include <string>
#include <unordered_map>

#include "cpython/object_reader.hpp"

namespace stackscope {

// threading.get_ident() (the pthread_t) -> Thread.name, for the interpreter at `interp`.
// Empty when threading was never imported or its registry cannot be read.
std::unordered_map<uint64_t, std::string> read_thread_names(ObjectReader& objects, uint64_t interp);

}  // namespace stackscope
