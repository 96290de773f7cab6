#include "cpython/asyncio_debug.hpp"

#include <cstring>
#include <vector>

#include "stackscope/hex.hpp"
#include "target/mapped_elf.hpp"

namespace stackscope {

namespace {

constexpr uint64_t kMaxTaskSize = 4096;
constexpr uint64_t kMaxInterpreterSize = 16ull << 20;
constexpr uint64_t kMaxThreadStateSize = 64 * 1024;
constexpr uint64_t kMaxScan = 16ull << 20;  // bytes of writable mappings scanned for the block

bool names_asyncio_module(const std::string& path) { return file_name_of(path).rfind("_asyncio", 0) == 0; }

// Where a block may be without files: _asyncio's extension module, or the interpreter that
// has it built in.
bool may_hold_block(const std::string& path) { return names_asyncio_module(path) || may_hold_runtime(path); }

bool inside(uint64_t offset, uint64_t width, uint64_t size) { return offset < size && width <= size - offset; }

std::optional<AsyncioDebugOffsets> from_section(RemoteMemory& memory, uint64_t address) {
    std::vector<uint8_t> raw(AsyncioDebugOffsets::kBytes);
    if (memory.read_some(address, raw) != raw.size()) return std::nullopt;
    return parse_asyncio_debug_offsets(raw);
}

}  // namespace

std::optional<AsyncioDebugOffsets> parse_asyncio_debug_offsets(std::span<const uint8_t> raw) {
    if (raw.size() < AsyncioDebugOffsets::kBytes) return std::nullopt;
    uint64_t w[AsyncioDebugOffsets::kWords];
    std::memcpy(w, raw.data(), sizeof w);
    AsyncioDebugOffsets o{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12]};
    // A task is an object (header, then fut_loop) with pointer fields past it.
    if (o.task_size < 64 || o.task_size > kMaxTaskSize || o.task_size % 8) return std::nullopt;
    for (const uint64_t pointer : {o.task_name, o.task_awaited_by, o.task_coro}) {
        if (pointer < 16 || pointer % 8 || !inside(pointer, 8, o.task_size)) return std::nullopt;
    }
    if (o.task_node % 8 || !inside(o.task_node, 16, o.task_size)) return std::nullopt;
    if (!inside(o.task_is_task, 1, o.task_size) || o.task_awaited_by_is_set != o.task_is_task + 1) return std::nullopt;
    if (o.interp_size < 4096 || o.interp_size > kMaxInterpreterSize || o.interp_size % 8) return std::nullopt;
    if (o.interp_tasks_head % 8 || !inside(o.interp_tasks_head, 16, o.interp_size)) return std::nullopt;
    if (o.tstate_size < 256 || o.tstate_size > kMaxThreadStateSize || o.tstate_size % 8) return std::nullopt;
    for (const uint64_t pointer : {o.tstate_running_loop, o.tstate_running_task, o.tstate_tasks_head}) {
        if (pointer < 64 || pointer % 8 || !inside(pointer, 8, o.tstate_size)) return std::nullopt;
    }
    if (!inside(o.tstate_tasks_head, 16, o.tstate_size)) return std::nullopt;
    return o;
}

AsyncioDebugLookup find_asyncio_debug_offsets(RemoteMemory& memory, const PythonRuntime& runtime) {
    AsyncioDebugLookup out;
    if (runtime.file) {
        if (const auto section = runtime.file->section(".AsyncioDebug")) {
            out.offsets = from_section(memory, runtime.load_bias + section->address);
            out.found_in = runtime.file->path() + " (section .AsyncioDebug)";
            if (out.offsets) return out;
        }
    }
    const MappedElfs elfs = open_mapped_elfs(memory.target(), names_asyncio_module);
    for (const MappedElf& m : elfs.files) {
        if (const auto section = m.elf->section(".AsyncioDebug")) {
            out.offsets = from_section(memory, m.load_bias + section->address);
            out.found_in = m.mapped_path + " (section .AsyncioDebug)";
            if (out.offsets) return out;
        }
    }
    // No file: the block is in the module's writable data, 8-byte aligned.
    uint64_t scanned = 0;
    bool module_mapped = false;
    std::vector<uint8_t> buffer;
    for (const MemoryRegion& r : memory.target().regions()) {
        if (!may_hold_block(r.path)) continue;
        module_mapped = module_mapped || names_asyncio_module(r.path);
        if (!r.writable || scanned >= kMaxScan) continue;
        const uint64_t size = std::min(r.end - r.start, kMaxScan - scanned);
        buffer.resize(size);
        const size_t got = memory.read_uncached(r.start, buffer);
        scanned += size;
        for (size_t at = 0; at + AsyncioDebugOffsets::kBytes <= got; at += 8) {
            if (auto found = parse_asyncio_debug_offsets(std::span(buffer).subspan(at))) {
                out.offsets = found;
                out.found_in = r.path + " (a plausible .AsyncioDebug block at " + hex(r.start + at) + ")";
                return out;
            }
        }
    }
    out.problem = std::string("the task list needs _asyncio's ELF file (its .AsyncioDebug section was not found") +
                  (module_mapped ? "" : "; no _asyncio module is mapped") + ")";
    return out;
}

}  // namespace stackscope
