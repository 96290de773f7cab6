#include "fuzz_inputs.hpp"

namespace stackscope_fuzz {

Entry entry_named(std::string_view target) {
    if (target == "elf_core") return elf_core;
    if (target == "lnotab") return lnotab;
    if (target == "linetable310") return linetable310;
    if (target == "locations") return locations;
    if (target == "exception_table") return exception_table;
    if (target == "frame_walker") return frame_walker;
    if (target == "with_analysis") return with_analysis;
    if (target == "object_repr") return object_repr;
    if (target == "tasks") return tasks;
    if (target == "asyncio_debug") return asyncio_debug;
    return nullptr;
}

}  // namespace stackscope_fuzz
