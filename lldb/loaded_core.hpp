#pragma once
// The core file LLDB loaded for a process. LLDB 16's SB API does not name it
// (SBProcess::GetCoreFile is LLDB 17's), and its threads' stop reasons give only the fatal
// signal's number, not si_code, si_addr or the sender (SBThread::GetSiginfo is not
// implemented for cores), and its register context of a core has no orig_rax: what a crash is
// and what each thread was doing (its system call and first argument), the CLI reads from the
// core's own notes (NT_PRSTATUS, NT_SIGINFO), and so does the plugin from this file.
#include <lldb/API/LLDB.h>

#include <memory>

#include "stackscope/core_file.hpp"

namespace stackscope_lldb {

// The core file `process` was loaded from: the one of the cores in LLDB's global module list
// (`target modules list --global`, where LLDB keeps the core it read) whose process id and
// threads are the process's; null when `process` is no elf-core process or none is.
std::shared_ptr<const stackscope::CoreFile> open_loaded_core(lldb::SBTarget target, lldb::SBProcess process);

}  // namespace stackscope_lldb
