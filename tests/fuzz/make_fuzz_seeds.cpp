// Writes the frame-walker seed corpus to OUT_DIR and the object_repr one to REPR_DIR:
// make_fuzz_seeds DEBUG_OFFSETS_3_13 OUT_DIR REPR_DIR (scripts/make-fuzz-seeds.sh passes
// tests/unit/fixtures/debug_offsets_3.13.bin, tests/fuzz/corpus/frame_walker and
// tests/fuzz/corpus/object_repr).
#include <cstdio>
#include <fstream>

#include "fuzz_inputs.hpp"
#include "seed_images.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s DEBUG_OFFSETS_3_13 OUT_DIR REPR_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[2];
    auto write = [&](const std::string& name, const stackscope_fuzz::MemoryImage& image) {
        const auto bytes = image.serialize();
        std::ofstream(dir + "/" + name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        std::printf("%s/%s: %zu bytes\n", dir.c_str(), name.c_str(), bytes.size());
    };
    write("python310.img", stackscope_fuzz::seed_image_310());
    write("python312.img", stackscope_fuzz::seed_image_312());
    write("python313.img", stackscope_fuzz::seed_image_313(argv[1]));
    auto through_callbacks = stackscope_fuzz::seed_image_312();
    through_callbacks.flags |= stackscope_fuzz::MemoryImage::kThroughCallbacks;
    write("python312-callbacks.img", through_callbacks);
    for (const int minor : {12, 13}) {
        const auto seed = stackscope_fuzz::object_repr_seed(minor);
        const std::string path = std::string(argv[3]) + "/objects3" + std::to_string(minor) + ".img";
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
        std::printf("%s: %zu bytes\n", path.c_str(), seed.size());
    }
    return 0;
}
