#include "memory_image.hpp"

#include <algorithm>
#include <cstring>

namespace stackscope_fuzz {

namespace {

constexpr char kMagic[4] = {'S', 'S', 'I', '1'};

class Reader {
public:
    explicit Reader(std::span<const uint8_t> data) : data_(data) {}
    bool has(size_t n) const { return data_.size() - pos_ >= n; }
    template <typename T>
    T take() {
        T value;
        std::memcpy(&value, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }
    std::span<const uint8_t> take_bytes(size_t n) {
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

private:
    std::span<const uint8_t> data_;
    size_t pos_ = 0;
};

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out.insert(out.end(), raw, raw + sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
    const size_t n = std::min<size_t>(s.size(), 255);
    put<uint8_t>(out, static_cast<uint8_t>(n));
    out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
}

bool overlaps(const std::map<uint64_t, ImageBlock>& blocks, uint64_t first, uint64_t last) {
    auto it = blocks.upper_bound(last);
    if (it == blocks.begin()) return false;
    --it;
    return it->first + (it->second.bytes.size() - 1) >= first;
}

}  // namespace

std::optional<MemoryImage> MemoryImage::parse(std::span<const uint8_t> data) {
    Reader in(data);
    if (!in.has(9)) return std::nullopt;
    if (std::memcmp(in.take_bytes(4).data(), kMagic, 4) != 0) return std::nullopt;
    MemoryImage image;
    image.flags = in.take<uint8_t>();
    image.pid = in.take<int32_t>();
    if (!in.has(1)) return image;
    for (unsigned n = in.take<uint8_t>(); n > 0; --n) {
        if (!in.has(1)) return image;
        const size_t length = in.take<uint8_t>();
        if (!in.has(length + 8)) return image;
        const auto name = in.take_bytes(length);
        image.symbols[std::string(name.begin(), name.end())] = in.take<uint64_t>();
    }
    if (!in.has(1)) return image;
    for (unsigned n = in.take<uint8_t>(); n > 0; --n) {
        if (!in.has(12)) return image;
        stackscope::TargetThread t;
        t.tid = in.take<int32_t>();
        t.pthread_id = in.take<uint64_t>();
        image.threads.push_back(t);
    }
    if (!in.has(2)) return image;
    for (unsigned n = in.take<uint16_t>(); n > 0; --n) {
        if (!in.has(14)) return image;
        const auto address = in.take<uint64_t>();
        const auto size = in.take<uint32_t>();
        ImageBlock block;
        block.writable = in.take<uint8_t>() != 0;
        const size_t path_length = in.take<uint8_t>();
        if (!in.has(path_length)) return image;
        const auto path = in.take_bytes(path_length);
        block.path.assign(path.begin(), path.end());
        if (!in.has(size)) return image;
        const auto bytes = in.take_bytes(size);
        const uint64_t last = address + (uint64_t{size} - 1);
        if (size == 0 || last < address || overlaps(image.blocks, address, last)) continue;
        block.bytes.assign(bytes.begin(), bytes.end());
        image.blocks.emplace(address, std::move(block));
    }
    if (!in.has(1)) return image;
    for (unsigned n = in.take<uint8_t>(); n > 0 && in.has(8); --n) image.objects.push_back(in.take<uint64_t>());
    return image;
}

std::vector<uint8_t> MemoryImage::serialize() const {
    std::vector<uint8_t> out(kMagic, kMagic + 4);
    put<uint8_t>(out, flags);
    put<int32_t>(out, pid);
    put<uint8_t>(out, static_cast<uint8_t>(symbols.size()));
    for (const auto& [name, address] : symbols) {
        put_string(out, name);
        put<uint64_t>(out, address);
    }
    put<uint8_t>(out, static_cast<uint8_t>(threads.size()));
    for (const auto& t : threads) {
        put<int32_t>(out, t.tid);
        put<uint64_t>(out, t.pthread_id.value_or(0));
    }
    put<uint16_t>(out, static_cast<uint16_t>(blocks.size()));
    for (const auto& [address, block] : blocks) {
        put<uint64_t>(out, address);
        put<uint32_t>(out, static_cast<uint32_t>(block.bytes.size()));
        put<uint8_t>(out, block.writable);
        put_string(out, block.path);
        out.insert(out.end(), block.bytes.begin(), block.bytes.end());
    }
    if (!objects.empty()) {
        put<uint8_t>(out, static_cast<uint8_t>(objects.size()));
        for (const uint64_t address : objects) put<uint64_t>(out, address);
    }
    return out;
}

ImageTarget::ImageTarget(MemoryImage image) : image_(std::move(image)) {
    for (const auto& [start, block] : image_.blocks) {
        stackscope::MemoryRegion r;
        r.start = start;
        r.end = start + block.bytes.size();  // 0 for a block that ends at 2^64: such a region is empty
        r.path = block.path;
        r.writable = block.writable;
        regions_.push_back(r);
    }
}

size_t ImageTarget::read(uint64_t address, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t at = address + done;
        if (done != 0 && at == 0) break;  // wrapped past the top of the address space
        auto it = image_.blocks.upper_bound(at);
        if (it == image_.blocks.begin()) break;
        --it;
        const uint64_t offset = at - it->first;
        if (offset >= it->second.bytes.size()) break;
        const size_t n = std::min<size_t>(out.size() - done, it->second.bytes.size() - offset);
        std::memcpy(out.data() + done, it->second.bytes.data() + offset, n);
        done += n;
    }
    return done;
}

std::optional<uint64_t> ImageTarget::lookup_symbol(std::string_view name) const {
    auto it = image_.symbols.find(name);
    if (it == image_.symbols.end()) return std::nullopt;
    return it->second;
}

}  // namespace stackscope_fuzz
