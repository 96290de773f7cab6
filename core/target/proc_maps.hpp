#pragma once
#include <string>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope {

// Parses the text of /proc/PID/maps.
std::vector<MemoryRegion> parse_proc_maps(const std::string& text);

}  // namespace stackscope
