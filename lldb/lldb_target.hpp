#pragma once
// The core's view of the process an LLDB session debugs: which Target reads it, and what
// LLDB knows that the core's snapshot may lack (symbols, thread numbers).
#include <lldb/API/LLDB.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "stackscope/model.hpp"
#include "stackscope/target.hpp"

namespace stackscope_lldb {

// A live process on this machine is read directly (process_vm_readv: LLDB's own reads go
// through lldb-server and are ~100x slower). Anything else (a core, a remote process) is
// read through LLDB's SB API: SBProcess::ReadMemory, and SBTarget::ReadMemory for the
// read-only file pages a core lacks; the modules' sections stand for the mappings. LLDB 16
// does not say which file a core is (SBProcess::GetCoreFile is LLDB 17's), so the core's
// own CoreFile target cannot be used. `via_lldb` forces the SB API. Throws stackscope::Error.
std::unique_ptr<stackscope::Target> open_target(lldb::SBTarget target, lldb::SBProcess process, bool via_lldb);

// `inner` with symbols looked up through LLDB as well: for when the core finds none itself.
std::unique_ptr<stackscope::Target> with_lldb_symbols(stackscope::Target& inner, lldb::SBTarget target);

// LLDB's index id of each thread, by kernel thread id.
std::map<int, uint32_t> lldb_thread_numbers(lldb::SBProcess process);

// Kernel thread ids of threads whose interpreter records only their pthread_t (3.8-3.10)
// when the target could not tell them (LLDB 16 does not show fs_base): read from glibc's
// struct pthread, at the offset glibc publishes for libthread_db.
void fill_tids_from_glibc(stackscope::Snapshot& snapshot, stackscope::Target& target, lldb::SBTarget lldb_target,
                          const std::map<int, uint32_t>& known_tids);

}  // namespace stackscope_lldb
