// One libFuzzer target: STACKSCOPE_FUZZ_ENTRY names its entry point (fuzz_inputs.hpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_inputs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)stackscope_fuzz::STACKSCOPE_FUZZ_ENTRY(std::span<const uint8_t>(data, size));
    return 0;
}
