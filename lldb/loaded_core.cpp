#include "loaded_core.hpp"

#include <algorithm>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "stackscope/error.hpp"

namespace stackscope_lldb {

namespace {

using namespace stackscope;

// The paths `target modules list --global --fullpath` prints, one a line as `[  1] /path`.
std::vector<std::string> global_module_paths(lldb::SBDebugger debugger) {
    lldb::SBCommandReturnObject result;
    debugger.GetCommandInterpreter().HandleCommand("target modules list --global --fullpath", result);
    std::vector<std::string> out;
    if (!result.Succeeded() || !result.GetOutput()) return out;
    std::istringstream lines(result.GetOutput());
    for (std::string line; std::getline(lines, line);) {
        const size_t open = line.find_first_not_of(' ');
        const size_t close = line.find("] ");
        if (open == std::string::npos || line[open] != '[' || close == std::string::npos) continue;
        std::string path = line.substr(close + 2);
        while (!path.empty() && (path.back() == ' ' || path.back() == '\r')) path.pop_back();
        if (!path.empty() && path.front() == '/') out.push_back(std::move(path));
    }
    return out;
}

std::vector<int> sorted_tids(std::vector<int> tids) {
    std::sort(tids.begin(), tids.end());
    return tids;
}

// Whether `core` is the one `process` was loaded from: the same process id and threads.
bool is_core_of(const CoreFile& core, lldb::SBProcess process) {
    if (core.pid() != static_cast<int>(process.GetProcessID())) return false;
    std::vector<int> lldb_tids, core_tids;
    for (uint32_t i = 0; i < process.GetNumThreads(); ++i)
        lldb_tids.push_back(static_cast<int>(process.GetThreadAtIndex(i).GetThreadID()));
    for (const TargetThread& t : core.threads()) core_tids.push_back(t.tid);
    return sorted_tids(lldb_tids) == sorted_tids(core_tids);
}

bool is_elf_core(lldb::SBProcess process) {
    const char* plugin = process.GetPluginName();
    return plugin && std::string_view(plugin) == "elf-core";
}

}  // namespace

std::shared_ptr<const CoreFile> open_loaded_core(lldb::SBTarget target, lldb::SBProcess process) {
    if (!is_elf_core(process)) return nullptr;
    for (const std::string& path : global_module_paths(target.GetDebugger())) {
        try {
            // an executable or a library is refused at once: not ET_CORE
            auto core = std::make_shared<const CoreFile>(path, CoreFileOptions{});
            if (is_core_of(*core, process)) return core;
        } catch (const Error&) {}
    }
    return nullptr;
}

}  // namespace stackscope_lldb
