// The object_repr fuzz target: the bounded repr (cpython/object_repr.hpp) of every object of a
// memory image, under the layout of one version, and the seed image of its corpus.
#include <cstdlib>

#include "cpython/builtin_types.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/object_repr.hpp"
#include "fuzz_inputs.hpp"
#include "memory_image.hpp"
#include "repr_world.hpp"
#include "stackscope/error.hpp"
#include "target/remote_memory.hpp"

namespace stackscope_fuzz {

namespace {

// More than any repr within reprlib's bounds can take (6^4 leaves of at most 80 characters
// of 4 UTF-8 bytes, and their separators).
constexpr size_t kMaxReprBytes = 2 << 20;

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        }
        i += n;
    }
    return true;
}

}  // namespace

Outcome object_repr(std::span<const uint8_t> data) {
    if (data.empty()) return Outcome::TooShort;
    const int minor = 8 + data[0] % 8;
    auto image = MemoryImage::parse(data.subspan(1));
    if (!image) return Outcome::TooShort;
    const std::vector<uint64_t> addresses = image->objects;
    ImageTarget target(std::move(*image));
    const stackscope::PythonLayout layout = *stackscope::layout_for(3, minor);
    stackscope::RemoteMemory memory(target);
    stackscope::BuiltinTypes types;
    stackscope::resolve_builtin_types_by_symbol(types, target, nullptr, 0);
    stackscope::ObjectReader objects(memory, layout, types);
    stackscope::FrameReader frames(objects);
    stackscope::AsyncioFutures futures(objects);
    stackscope::ObjectRepr reprs(objects, frames, futures);
    try {
        for (const uint64_t address : addresses) {
            for (const std::string& text : {reprs.repr(address), reprs.function_name(address)}) {
                // Bounded and printable whatever the memory says: anything else is a bug.
                if (text.size() > kMaxReprBytes || !valid_utf8(text)) std::abort();
            }
        }
    } catch (const stackscope::Error&) {
        return Outcome::Error;
    }
    return Outcome::Value;
}

std::vector<uint8_t> object_repr_seed(int minor) {
    stackscope_test::ReprWorld w(minor);
    const uint64_t one = w.integer(1), two = w.integer(2), a = w.str(U"a"), omega = w.str(U"\u03a9\u2028");
    const uint64_t smile = w.str(U"\U0001F600 \U000E0001"), long_str = w.str(std::u32string(200, U'x'));
    std::vector<uint32_t> huge(500, 0x3fffffff);
    const uint64_t big = w.big_int(huge, true);
    const uint64_t list = w.list({one, a, w.none, w.floating(0.1), big});
    const uint64_t cyclic = w.list({one, one});
    stackscope::RemoteMemory probe(w.target);
    w.target.put_u64(probe.read_pointer(cyclic + w.layout.list_items) + 8, cyclic);
    const uint64_t dict = w.dict({{a, list}, {w.str(U"b"), w.tuple({one})}});
    const uint64_t set = w.set({two, one, a});
    const uint64_t frozen = w.set({one}, stackscope::BuiltinType::FrozenSet);
    MemoryImage image;
    for (const auto& [name, address] : w.target.symbols()) image.symbols[name] = address;
    for (const auto& [address, bytes] : w.target.blocks()) image.blocks[address].bytes = bytes;
    image.objects = {w.none, one, big, a, omega, smile, long_str, list, cyclic, dict, set, frozen, 0x8};
    std::vector<uint8_t> out = {static_cast<uint8_t>(minor - 8)};  // the layout the objects are laid out in
    const auto bytes = image.serialize();
    out.insert(out.end(), bytes.begin(), bytes.end());
    return out;
}

}  // namespace stackscope_fuzz
