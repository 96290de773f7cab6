#pragma once
// A serialized memory image: the input of the frame-walker fuzz target. It holds what a
// Target offers (byte blocks at addresses, their mapping paths, symbols, threads), so a
// mutated image is a mutated process. Little-endian:
//
//   "SSI1"  u8 flags  i32 pid
//   u8 symbol count,  per symbol: u8 name length, name, u64 address
//   u8 thread count,  per thread: i32 tid, u64 pthread id
//   u16 block count,  per block:  u64 address, u32 size, u8 writable, u8 path length, path, size bytes
//   [u8 object count, per object: u64 address]   objects read as --object reads them; absent: none
//
// Parsing is lenient, as a fuzz input needs: it stops at the first field that does not fit,
// and skips blocks that are empty, wrap, or overlap an earlier block.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope_fuzz {

struct ImageBlock {
    std::vector<uint8_t> bytes;
    std::string path;
    bool writable = true;
};

struct MemoryImage {
    static constexpr uint8_t kThroughCallbacks = 1;  // read through a CallbackTarget that fails multi-page reads

    uint8_t flags = 0;
    int32_t pid = 0;
    std::map<std::string, uint64_t, std::less<>> symbols;
    std::vector<stackscope::TargetThread> threads;
    std::map<uint64_t, ImageBlock> blocks;
    std::vector<uint64_t> objects;  // generators, coroutines, ... to read by address

    // nullopt when the magic is wrong.
    static std::optional<MemoryImage> parse(std::span<const uint8_t> data);
    std::vector<uint8_t> serialize() const;
};

class ImageTarget final : public stackscope::Target {
public:
    explicit ImageTarget(MemoryImage image);

    size_t read(uint64_t address, std::span<uint8_t> out) override;
    const std::vector<stackscope::MemoryRegion>& regions() const override { return regions_; }
    std::vector<stackscope::TargetThread> threads() const override { return image_.threads; }
    int pid() const override { return image_.pid; }
    std::optional<std::string> local_file(const std::string&) const override { return std::nullopt; }
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override;

private:
    MemoryImage image_;
    std::vector<stackscope::MemoryRegion> regions_;
};

}  // namespace stackscope_fuzz
