#pragma once
// An in-memory stackscope::Target for unit tests: byte blocks placed at chosen addresses,
// plus helpers that lay out CPython 3.11+ objects (types, str, bytes, dict, code, frames)
// with the offsets of a PythonLayout, so the readers above Target can run without a process.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cpython/builtin_types.hpp"
#include "cpython/python_layout.hpp"
#include "stackscope/target.hpp"

namespace stackscope_test {

class SyntheticTarget : public stackscope::Target {
public:
    // Adds a zero-filled block of `size` bytes at `address` (which must not overlap another).
    void add_block(uint64_t address, size_t size) {
        if (size == 0) throw std::logic_error("empty block");
        const uint64_t last = address + (size - 1);  // inclusive, so a block may end at 2^64
        if (last < address) throw std::logic_error("block wraps around the address space");
        for (const auto& [start, bytes] : blocks_) {
            const uint64_t other_last = start + (bytes.size() - 1);
            if (address <= other_last && start <= last) throw std::logic_error("overlapping blocks");
        }
        blocks_[address] = std::vector<uint8_t>(size, 0);
        rebuild_regions();
    }

    // Copies `bytes` into existing blocks (throws when any byte is outside them).
    void write(uint64_t address, std::span<const uint8_t> bytes) {
        for (size_t i = 0; i < bytes.size(); ++i) *byte_at(address + i) = bytes[i];
    }
    void write(uint64_t address, std::string_view s) {
        write(address, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    }
    template <typename T>
    void put(uint64_t address, T value) {
        uint8_t raw[sizeof(T)];
        std::memcpy(raw, &value, sizeof(T));
        write(address, std::span<const uint8_t>(raw, sizeof(T)));
    }
    void put_u64(uint64_t address, uint64_t value) { put<uint64_t>(address, value); }

    void set_symbol(std::string name, uint64_t address) { symbols_[std::move(name)] = address; }
    void set_pid(int pid) { pid_ = pid; }
    void set_costly_reads(bool costly) { costly_reads_ = costly; }

    const std::map<uint64_t, std::vector<uint8_t>>& blocks() const { return blocks_; }
    const std::map<std::string, uint64_t, std::less<>>& symbols() const { return symbols_; }

    uint64_t reads() const { return reads_; }
    const std::vector<std::pair<uint64_t, size_t>>& read_log() const { return read_log_; }

    size_t read(uint64_t address, std::span<uint8_t> out) override {
        ++reads_;
        read_log_.emplace_back(address, out.size());
        size_t done = 0;
        while (done < out.size()) {
            const uint64_t at = address + done;
            if (done != 0 && at == 0) break;  // wrapped past the top of the address space
            const Block* b = block_containing(at);
            if (!b) break;
            const size_t offset = static_cast<size_t>(at - b->first);
            const size_t n = std::min(out.size() - done, b->second.size() - offset);
            std::memcpy(out.data() + done, b->second.data() + offset, n);
            done += n;
        }
        return done;
    }

    bool costly_reads() const override { return costly_reads_; }
    const std::vector<stackscope::MemoryRegion>& regions() const override { return regions_; }
    std::vector<stackscope::TargetThread> threads() const override { return {}; }
    int pid() const override { return pid_; }
    std::optional<std::string> local_file(const std::string&) const override { return std::nullopt; }
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override {
        auto it = symbols_.find(std::string(name));
        if (it == symbols_.end()) return std::nullopt;
        return it->second;
    }

private:
    using Block = std::pair<const uint64_t, std::vector<uint8_t>>;

    const Block* block_containing(uint64_t address) const {
        auto it = blocks_.upper_bound(address);
        if (it == blocks_.begin()) return nullptr;
        --it;
        if (address - it->first < it->second.size()) return &*it;
        return nullptr;
    }
    uint8_t* byte_at(uint64_t address) {
        const Block* b = block_containing(address);
        if (!b) throw std::logic_error("write outside the synthetic blocks");
        return const_cast<uint8_t*>(b->second.data()) + (address - b->first);
    }
    void rebuild_regions() {
        regions_.clear();
        for (const auto& [start, bytes] : blocks_) {
            stackscope::MemoryRegion r;
            r.start = start;
            r.end = start + bytes.size();
            r.readable = true;
            r.writable = true;
            regions_.push_back(r);
        }
    }

    std::map<uint64_t, std::vector<uint8_t>> blocks_;
    std::vector<stackscope::MemoryRegion> regions_;
    std::map<std::string, uint64_t, std::less<>> symbols_;
    int pid_ = 4242;
    bool costly_reads_ = false;
    uint64_t reads_ = 0;
    std::vector<std::pair<uint64_t, size_t>> read_log_;
};

// Lays out CPython objects in a SyntheticTarget, each in its own block (so that a read past an
// object's end fails, as it would at the end of a mapping), from a bump allocator.
class ObjectBuilder {
public:
    ObjectBuilder(SyntheticTarget& target, const stackscope::PythonLayout& layout, uint64_t base = 0x10000000)
        : t_(target), l_(layout), next_(base) {}

    SyntheticTarget& target() { return t_; }
    const stackscope::PythonLayout& layout() const { return l_; }

    // A fresh block of `size` bytes, 16-aligned, followed by an unmapped gap.
    uint64_t alloc(size_t size) {
        const uint64_t at = next_;
        t_.add_block(at, size);
        next_ += (size + 0xfff + 0x1000) & ~uint64_t{0xfff};  // page-align and leave a hole
        return at;
    }

    uint64_t c_string(std::string_view s) {
        const uint64_t at = alloc(s.size() + 1);
        t_.write(at, s);
        return at;
    }

    // A type object whose tp_name is `name`. A builtin type's symbol ("PyCode_Type") names
    // it too, as the interpreter's binary does (the first such type, like the binary's one).
    uint64_t type(std::string_view name) {
        const uint64_t at = alloc(400);
        t_.put_u64(at + l_.type_name, c_string(name));
        if (const auto builtin = stackscope::builtin_type_named(name)) {
            const std::string symbol(stackscope::builtin_type_symbol(*builtin));
            if (!t_.lookup_symbol(symbol)) t_.set_symbol(symbol, at);
        }
        return at;
    }

    // A compact ASCII str (state: compact 0x20 | ascii 0x40 | kind 1 << 2).
    uint64_t str(uint64_t str_type, std::string_view s, int64_t length_override = -1) {
        const uint64_t at = alloc(static_cast<size_t>(l_.unicode_ascii_data) + s.size() + 1);
        t_.put_u64(at + 0, 1);  // refcount
        t_.put_u64(at + l_.object_type, str_type);
        t_.put<int64_t>(at + l_.unicode_length,
                        length_override >= 0 ? length_override : static_cast<int64_t>(s.size()));
        t_.put<uint32_t>(at + l_.unicode_state, 0x20 | 0x40 | (1 << 2));
        t_.write(at + l_.unicode_ascii_data, s);
        return at;
    }

    uint64_t bytes(uint64_t bytes_type, std::span<const uint8_t> data) {
        const uint64_t at = alloc(static_cast<size_t>(l_.bytes_data) + data.size() + 1);
        t_.put_u64(at + l_.object_type, bytes_type);
        t_.put<int64_t>(at + l_.bytes_size, static_cast<int64_t>(data.size()));
        t_.write(at + l_.bytes_data, data);
        return at;
    }

    // A 3.11+ dict with unicode keys (dk_kind 1) and a combined table.
    uint64_t dict(uint64_t dict_type, const std::vector<std::pair<uint64_t, uint64_t>>& items) {
        const uint8_t log2_size = 3;
        const uint8_t log2_index_bytes = 3;  // 8 one-byte indices
        const size_t entries_at = 32 + (size_t{1} << log2_index_bytes);
        const uint64_t keys = alloc(entries_at + 16 * std::max<size_t>(items.size(), 1));
        t_.put<uint8_t>(keys + 8, log2_size);
        t_.put<uint8_t>(keys + 9, log2_index_bytes);
        t_.put<uint8_t>(keys + 10, 1);
        t_.put<int64_t>(keys + 24, static_cast<int64_t>(items.size()));
        for (size_t i = 0; i < items.size(); ++i) {
            t_.put_u64(keys + entries_at + 16 * i, items[i].first);
            t_.put_u64(keys + entries_at + 16 * i + 8, items[i].second);
        }
        const uint64_t d = alloc(48);
        t_.put_u64(d + l_.object_type, dict_type);
        t_.put_u64(d + l_.dict_keys_ptr, keys);
        t_.put_u64(d + l_.dict_values_ptr, 0);
        return d;
    }

    struct Code {
        uint64_t address;
        size_t code_units;
    };

    // A code object whose instructions (code_units 2-byte units) follow it at code_adaptive.
    Code code(uint64_t code_type, uint64_t name, uint64_t qualname, uint64_t filename, int first_line,
              uint64_t linetable, size_t code_units) {
        const uint64_t at = alloc(static_cast<size_t>(l_.code_adaptive) + 2 * code_units + 8);
        t_.put_u64(at + l_.object_type, code_type);
        t_.put_u64(at + l_.code_name, name);
        if (l_.code_qualname != stackscope::kAbsent) t_.put_u64(at + l_.code_qualname, qualname);
        t_.put_u64(at + l_.code_filename, filename);
        t_.put<int32_t>(at + l_.code_firstlineno, first_line);
        t_.put_u64(at + l_.code_linetable, linetable);
        return {at, code_units};
    }

    // A _PyInterpreterFrame (3.12 field set: code, previous, globals, prev_instr, owner).
    uint64_t frame(uint64_t code, uint64_t previous, uint64_t globals, uint64_t instruction, uint8_t owner) {
        const uint64_t at = alloc(static_cast<size_t>(l_.frame_localsplus) + 16);
        write_frame(at, code, previous, globals, instruction, owner);
        return at;
    }
    void write_frame(uint64_t at, uint64_t code, uint64_t previous, uint64_t globals, uint64_t instruction,
                     uint8_t owner) {
        t_.put_u64(at + l_.frame_code, code);
        t_.put_u64(at + l_.frame_previous, previous);
        t_.put_u64(at + l_.frame_globals, globals);
        t_.put_u64(at + l_.frame_instruction, instruction);
        t_.put<uint8_t>(at + l_.frame_owner, owner);
    }

    // prev_instr value for "the last executed instruction is code unit `unit`" (3.11/3.12).
    uint64_t prev_instr(const Code& c, int64_t unit) const {
        return c.address + static_cast<uint64_t>(l_.code_adaptive) + static_cast<uint64_t>(unit * 2);
    }

private:
    SyntheticTarget& t_;
    const stackscope::PythonLayout& l_;
    uint64_t next_;
};

// Encoders for the 3.11+ location table (Objects/locations.md).
struct LocationTable {
    std::vector<uint8_t> bytes;

    static void varint(std::vector<uint8_t>& out, uint32_t v) {
        while (v >= 64) {
            out.push_back(static_cast<uint8_t>(64 | (v & 63)));
            v >>= 6;
        }
        out.push_back(static_cast<uint8_t>(v));
    }
    static void svarint(std::vector<uint8_t>& out, int v) {
        varint(out, v < 0 ? (static_cast<uint32_t>(-v) << 1) | 1 : static_cast<uint32_t>(v) << 1);
    }
    // `units` (1..8) code units on a line `delta` (0..2) below the previous one (one-line form, code 10-12).
    LocationTable& one_line(int units, int delta, uint8_t col = 0, uint8_t end_col = 4) {
        bytes.push_back(static_cast<uint8_t>(0x80 | ((10 + delta) << 3) | (units - 1)));
        bytes.push_back(col);
        bytes.push_back(end_col);
        return *this;
    }
    // `units` code units on the previous line + delta (any delta), no columns (code 13).
    LocationTable& no_column(int units, int delta) {
        bytes.push_back(static_cast<uint8_t>(0x80 | (13 << 3) | (units - 1)));
        svarint(bytes, delta);
        return *this;
    }
    // `units` code units on the current line, short form (code 0-9) with small columns.
    LocationTable& short_form(int units, int code = 0, uint8_t second = 0x12) {
        bytes.push_back(static_cast<uint8_t>(0x80 | (code << 3) | (units - 1)));
        bytes.push_back(second);
        return *this;
    }
    // `units` code units without a location (code 15).
    LocationTable& none(int units) {
        bytes.push_back(static_cast<uint8_t>(0x80 | (15 << 3) | (units - 1)));
        return *this;
    }
};

}  // namespace stackscope_test
