#pragma once
// The process an LLDB session debugs, described for the core (stackscope/debugger.hpp):
// which kind it is, LLDB's threads, and how to read it and look up symbols through LLDB's
// SB API. The core decides how it is read.
#include <lldb/API/LLDB.h>

#include "stackscope/debugger.hpp"

namespace stackscope_lldb {

// A live process that may be on this machine (`gdb-remote` on the host platform) is
// MaybeLocalLive: when /proc/PID is that process (its executable and threads), the core reads
// it directly (process_vm_readv: LLDB's own reads cross lldb-server and are ~100x slower).
// Anything else (a core, a remote process) is Other and read through the SB API:
// SBProcess::ReadMemory, and SBTarget::ReadMemory for the read-only file pages a core
// lacks; the modules' sections stand for the mappings. LLDB 16 does not say which file a
// core is (SBProcess::GetCoreFile is LLDB 17's), so its memory is read through LLDB; what
// killed it, and what its threads were doing, come from the notes of the core found in LLDB's
// module list (loaded_core.hpp).
stackscope::DebuggerProcess describe_process(lldb::SBTarget target, lldb::SBProcess process);

}  // namespace stackscope_lldb
