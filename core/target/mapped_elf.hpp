#pragma once
// The ELF files a target has mapped, opened from wherever this machine can reach them.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "target/elf_file.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

struct MappedElf {
    std::string mapped_path;  // as the target names it
    uint64_t load_bias = 0;   // add to link-time addresses
    std::unique_ptr<ElfFile> elf;
};

struct MappedElfs {
    std::vector<MappedElf> files;
    std::vector<std::string> unavailable;  // "path (why)" for files that could not be opened
};

// Opens every distinct file mapped at file offset 0 whose path passes `wanted`.
MappedElfs open_mapped_elfs(const Target& target, const std::function<bool(const std::string&)>& wanted);

std::string file_name_of(const std::string& path);

}  // namespace stackscope
