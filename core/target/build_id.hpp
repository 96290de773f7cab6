#pragma once
// GNU build ids (NT_GNU_BUILD_ID notes) as lowercase hex, from an ELF image as mapped in a
// process: a core keeps the first page of each mapped ELF file, which holds its program
// headers and, in every usual layout, the build-id note.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace stackscope {

std::string build_id_hex(std::span<const uint8_t> id);

// Reads up to out.size() bytes at an address and returns how many were there.
using ImageReader = std::function<size_t(uint64_t address, std::span<uint8_t> out)>;

struct MappedImageIdentity {
    std::vector<uint8_t> headers;         // the ELF header and program headers; empty when absent
    std::optional<std::string> build_id;  // absent when its note is not in memory (or there is none)
};

// What identifies the ELF image whose file offset 0 is mapped at `base`.
MappedImageIdentity mapped_image_identity(const ImageReader& read, uint64_t base);

}  // namespace stackscope
