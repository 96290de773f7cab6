#include "target/mapped_elf.hpp"

#include <set>

#include "stackscope/error.hpp"

namespace stackscope {

std::string file_name_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

MappedElfs open_mapped_elfs(const Target& target, const std::function<bool(const std::string&)>& wanted) {
    MappedElfs out;
    std::set<std::string> seen;
    for (const MemoryRegion& region : target.regions()) {
        if (region.path.empty() || region.path[0] != '/' || region.file_offset != 0) continue;
        if (!seen.insert(region.path).second || !wanted(region.path)) continue;
        const auto local = target.local_file(region.path);
        if (!local) {
            out.unavailable.push_back(region.path + " (missing)");
            continue;
        }
        try {
            MappedElf m;
            m.mapped_path = region.path;
            m.elf = std::make_unique<ElfFile>(*local);
            m.load_bias = m.elf->is_position_independent() ? region.start - m.elf->first_load_vaddr() : 0;
            out.files.push_back(std::move(m));
        } catch (const Error& e) {
            out.unavailable.push_back(region.path + " (" + e.what() + ")");
        }
    }
    return out;
}

}  // namespace stackscope
