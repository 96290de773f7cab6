#include "target/glibc_threads.hpp"

#include <cstring>

#include "stackscope/error.hpp"
#include "target/mapped_elf.hpp"

namespace stackscope {

namespace {

constexpr const char* kTidDescriptor = "_thread_db_pthread_tid";

bool is_libc(const std::string& path) {
    const std::string name = file_name_of(path);
    return name.rfind("libc.so", 0) == 0 || name.rfind("libc-", 0) == 0;
}

std::optional<uint64_t> descriptor_address(Target& target) {
    if (auto address = target.lookup_symbol(kTidDescriptor)) return address;
    try {
        for (const MappedElf& m : open_mapped_elfs(target, is_libc).files) {
            if (auto sym = m.elf->symbol(kTidDescriptor)) return m.load_bias + sym->value;
        }
    } catch (const Error&) {
        // a libc the target refuses (another build than the core's): no descriptor, no tids
    }
    return std::nullopt;
}

}  // namespace

std::optional<uint64_t> glibc_pthread_tid_offset(RemoteMemory& memory) {
    const auto address = descriptor_address(memory.target());
    if (!address) return std::nullopt;
    uint32_t field[3] = {};  // size in bits, element count, offset
    if (memory.read_some(*address, std::span(reinterpret_cast<uint8_t*>(field), sizeof field)) != sizeof field)
        return std::nullopt;
    if (field[0] != 32 || field[2] > 64 * 1024) return std::nullopt;
    return field[2];
}

std::optional<int> glibc_thread_tid(RemoteMemory& memory, uint64_t pthread_id, uint64_t tid_offset) {
    if (pthread_id == 0 || pthread_id >= RemoteMemory::kAddressLimit) return std::nullopt;
    int32_t tid = 0;
    if (memory.read_some(pthread_id + tid_offset, std::span(reinterpret_cast<uint8_t*>(&tid), sizeof tid)) !=
        sizeof tid) {
        return std::nullopt;
    }
    if (tid <= 0) return std::nullopt;  // an exited thread's descriptor holds 0 or a negative tid
    return tid;
}

}  // namespace stackscope
