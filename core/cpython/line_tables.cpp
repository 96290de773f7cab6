#include "cpython/line_tables.hpp"

#include "stackscope/error.hpp"

namespace stackscope {
namespace {

class ByteCursor {
public:
    explicit ByteCursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    bool done() const { return pos_ >= bytes_.size(); }
    uint8_t next() {
        if (done()) throw bad_data("line table ends in the middle of an entry");
        return bytes_[pos_++];
    }
    uint8_t peek() const { return bytes_[pos_]; }

private:
    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
};

// Location-table varint: little-endian 6-bit chunks, 0x40 = more follows.
uint32_t read_location_varint(ByteCursor& in) {
    uint8_t b = in.next();
    uint64_t value = b & 63;
    unsigned shift = 0;
    while (b & 64) {
        b = in.next();
        shift += 6;
        if (shift > 30) throw bad_data("location table varint too long");
        value |= uint64_t(b & 63) << shift;
    }
    return static_cast<uint32_t>(value);
}

int64_t read_location_svarint(ByteCursor& in) {
    const uint32_t v = read_location_varint(in);
    return (v & 1) ? -static_cast<int64_t>(v >> 1) : static_cast<int64_t>(v >> 1);
}

// Exception-table varint: big-endian 6-bit chunks, 0x40 = more follows.
std::optional<int> column(uint32_t raw) {
    if (raw == 0 || raw > static_cast<uint32_t>(INT32_MAX)) return std::nullopt;
    return static_cast<int>(raw) - 1;
}

// Line numbers are accumulated in 64 bits and must stay within int: garbage tables throw.
int checked_line(int64_t line) {
    if (line < INT32_MIN || line > INT32_MAX) throw bad_data("line table runs out of the int range");
    return static_cast<int>(line);
}

// Decodes 3.11+ location entries one at a time; `visit` returns false to stop.
template <typename Visit>
void for_each_location(std::span<const uint8_t> table, int first_line, Visit visit) {
    ByteCursor in(table);
    int64_t line = first_line;
    uint64_t addr = 0;
    while (!in.done()) {
        const uint8_t first = in.next();
        if (!(first & 0x80)) throw bad_data("location table entry without its start bit");
        const unsigned code = (first >> 3) & 15;
        Location loc;
        loc.start = static_cast<uint32_t>(addr);
        addr += (first & 7) + 1;
        if (addr > UINT32_MAX) throw bad_data("location table covers more than 2^32 code units");
        loc.end = static_cast<uint32_t>(addr);
        if (code == 15) {
            // no location
        } else if (code == 14) {
            line += read_location_svarint(in);
            loc.line = checked_line(line);
            loc.end_line = checked_line(line + read_location_varint(in));
            loc.column = column(read_location_varint(in));
            loc.end_column = column(read_location_varint(in));
        } else if (code == 13) {
            line += read_location_svarint(in);
            loc.line = loc.end_line = checked_line(line);
        } else if (code >= 10) {
            line += static_cast<int>(code) - 10;
            loc.line = loc.end_line = checked_line(line);
            loc.column = in.next();
            loc.end_column = in.next();
        } else {
            const uint8_t second = in.next();
            loc.line = loc.end_line = checked_line(line);
            const int col = static_cast<int>(code * 8 + ((second >> 4) & 7));
            loc.column = col;
            loc.end_column = col + (second & 15);
        }
        if (!visit(loc)) return;
    }
}

}  // namespace

int lnotab_line(std::span<const uint8_t> lnotab, int first_line, int64_t byte_offset) {
    int64_t line = first_line;
    int64_t addr = 0;
    for (size_t i = 0; i + 1 < lnotab.size(); i += 2) {
        addr += lnotab[i];
        if (addr > byte_offset) break;
        line += static_cast<int8_t>(lnotab[i + 1]);
    }
    return checked_line(line);
}

std::optional<int> linetable310_line(std::span<const uint8_t> table, int first_line, int64_t byte_offset) {
    if (byte_offset < 0) return first_line;
    int64_t end = 0;
    int64_t line = first_line;
    for (size_t i = 0; i + 1 < table.size(); i += 2) {
        const int64_t start = end;
        end += table[i];
        const int8_t delta = static_cast<int8_t>(table[i + 1]);
        std::optional<int> current;
        if (delta != -128) {
            line += delta;
            current = checked_line(line);
        }
        if (start <= byte_offset && byte_offset < end) return current;
    }
    return std::nullopt;
}

std::vector<Location> decode_locations(std::span<const uint8_t> table, int first_line) {
    std::vector<Location> out;
    for_each_location(table, first_line, [&](const Location& loc) {
        out.push_back(loc);
        return true;
    });
    return out;
}

std::optional<int> location_line(std::span<const uint8_t> table, int first_line, uint32_t code_unit) {
    std::optional<int> line;
    for_each_location(table, first_line, [&](const Location& loc) {
        if (code_unit < loc.end) {
            if (loc.start <= code_unit) line = loc.line;
            return false;
        }
        return true;
    });
    return line;
}

}  // namespace stackscope
