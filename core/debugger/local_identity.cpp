#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "stackscope/debugger.hpp"

namespace stackscope {

namespace {

std::optional<std::vector<int>> task_ids(int pid) {
    std::error_code error;
    std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", error);
    std::vector<int> out;
    for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
        const std::string name = it->path().filename().string();
        char* end = nullptr;
        const long tid = std::strtol(name.c_str(), &end, 10);
        if (end && *end == '\0' && tid > 0) out.push_back(static_cast<int>(tid));
    }
    if (error) return std::nullopt;
    return out;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat first {};
    struct stat second {};
    return ::stat(a.c_str(), &first) == 0 && ::stat(b.c_str(), &second) == 0 && first.st_dev == second.st_dev &&
           first.st_ino == second.st_ino;
}

}  // namespace

bool same_local_process(int pid, const std::string& executable, std::vector<int> tids) {
    if (pid <= 0 || tids.empty()) return false;
    const std::string proc = "/proc/" + std::to_string(pid);
    if (!executable.empty() && !same_file(proc + "/exe", executable)) return false;
    std::optional<std::vector<int>> here = task_ids(pid);
    if (!here) return false;
    std::sort(here->begin(), here->end());
    std::sort(tids.begin(), tids.end());
    return *here == tids;
}

}  // namespace stackscope
