#pragma once
// glibc's own description of its thread descriptor: where `struct pthread` keeps the kernel
// thread id, so that a pthread_t (what CPython records) can be turned into a tid without
// registers (no fs_base: reading without stopping, or a debugger's threads).
#include <cstdint>
#include <optional>

#include "target/remote_memory.hpp"

namespace stackscope {

// The offset of `tid` inside glibc's struct pthread, from the descriptor glibc exports for
// libthread_db (`_thread_db_pthread_tid`: {bits, count, offset}); found through the target's
// symbol lookup, else the libc the target has mapped. nullopt when neither has it.
std::optional<uint64_t> glibc_pthread_tid_offset(RemoteMemory& memory);

// The kernel thread id of the thread whose pthread_t is `pthread_id` (tid_offset from
// glibc_pthread_tid_offset), read from the target; nullopt when the field cannot be read or
// holds no plausible tid.
std::optional<int> glibc_thread_tid(RemoteMemory& memory, uint64_t pthread_id, uint64_t tid_offset);

}  // namespace stackscope
