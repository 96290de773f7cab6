#pragma once
// What a shell command prints on stdout ("" when it cannot be started): the unit tests that
// compare with binutils and gcc.
#include <cstdio>
#include <string>

namespace stackscope::test {

inline std::string command_output(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return out;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

}  // namespace stackscope::test
