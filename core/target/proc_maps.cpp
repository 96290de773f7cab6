#include "target/proc_maps.hpp"

#include <cstdio>
#include <sstream>

namespace stackscope {

std::vector<MemoryRegion> parse_proc_maps(const std::string& text) {
    std::vector<MemoryRegion> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        unsigned long long start = 0, end = 0, offset = 0;
        char perms[5] = {};
        int path_pos = -1;
        if (std::sscanf(line.c_str(), "%llx-%llx %4s %llx %*s %*s %n", &start, &end, perms, &offset, &path_pos) < 4) {
            continue;
        }
        MemoryRegion r;
        r.start = start;
        r.end = end;
        r.file_offset = offset;
        r.readable = perms[0] == 'r';
        r.writable = perms[1] == 'w';
        r.executable = perms[2] == 'x';
        if (path_pos > 0 && static_cast<size_t>(path_pos) < line.size()) {
            r.path = line.substr(static_cast<size_t>(path_pos));
            if (r.path.size() > 10 && r.path.ends_with(" (deleted)")) r.path.resize(r.path.size() - 10);
        }
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace stackscope
