#pragma once
// What the debugger front-ends (gdb, lldb) need from the core beyond a snapshot.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "stackscope/model.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

// Whether a mapped file may hold the runtime: the interpreter executable or libpython
// (extension modules such as foo.cpython-312-x86_64-linux-gnu.so do not).
bool is_python_file(const std::string& path);

// For threads whose thread state records only a pthread_t (3.8-3.10) and whose tid the
// snapshot could not learn: their tids from glibc's own struct pthread (its descriptor of
// the tid field, found through `target`'s symbols or its libc), kept only when `live_tids`
// (the debugger's threads) has them.
void fill_tids_from_pthreads(Snapshot& snapshot, Target& target, const std::set<int>& live_tids);

}  // namespace stackscope
