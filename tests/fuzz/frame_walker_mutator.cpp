// A structure-aware mutator for the frame-walker target: most mutations change the bytes of
// one memory block (keeping the image parseable), and some rewire a pointer-sized word to
// point into another block, as corrupt process memory does; the rest are libFuzzer's own
// mutations of the whole serialized image.
#include <cstring>
#include <iterator>
#include <random>

#include "memory_image.hpp"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using stackscope_fuzz::ImageBlock;
using stackscope_fuzz::MemoryImage;

void rewire_pointer(MemoryImage& image, ImageBlock& block, std::minstd_rand& rng) {
    if (block.bytes.size() < 8) return;
    const size_t at = (rng() % (block.bytes.size() / 8)) * 8;
    auto target = image.blocks.begin();
    std::advance(target, static_cast<long>(rng() % image.blocks.size()));
    const uint64_t offset = target->second.bytes.size() > 1 ? (rng() % target->second.bytes.size()) & ~uint64_t{7} : 0;
    const uint64_t pointer = target->first + offset;
    std::memcpy(block.bytes.data() + at, &pointer, 8);
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    std::minstd_rand rng(seed);
    auto image = MemoryImage::parse(std::span<const uint8_t>(data, size));
    if (!image || image->blocks.empty() || rng() % 8 == 0) return LLVMFuzzerMutate(data, size, max_size);
    auto chosen = image->blocks.begin();
    std::advance(chosen, static_cast<long>(rng() % image->blocks.size()));
    std::vector<uint8_t>& bytes = chosen->second.bytes;
    if (rng() % 4 == 0) {
        rewire_pointer(*image, chosen->second, rng);
    } else {
        const size_t n = LLVMFuzzerMutate(bytes.data(), bytes.size(), bytes.size());
        if (n > 0) bytes.resize(n);
    }
    const std::vector<uint8_t> out = image->serialize();
    if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
    std::memcpy(data, out.data(), out.size());
    return out.size();
}
