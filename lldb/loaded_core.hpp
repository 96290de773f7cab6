#pragma once
// The core file LLDB loaded for a process. LLDB 16's SB API does not name it
// (SBProcess::GetCoreFile is LLDB 17's), and its threads' stop reasons give only the fatal
// signal's number, not si_code, si_addr or the sender (SBThread::GetSiginfo is not
// implemented for cores): what a crash is, the CLI reads from the core's own notes.
#include <lldb/API/LLDB.h>

#include <optional>

#include "stackscope/process_info.hpp"

namespace stackscope_lldb {

// What the notes of the core file `process` was loaded from say of it (who it was, the fatal
// signal and the thread it came to). The file is the one of the cores in LLDB's global module
// list (`target modules list --global`, where LLDB keeps the core it read) whose process id
// and threads are the process's; nullopt when `process` is no elf-core process or none is.
std::optional<stackscope::ProcessInfo> loaded_core_process_info(lldb::SBTarget target, lldb::SBProcess process);

}  // namespace stackscope_lldb
