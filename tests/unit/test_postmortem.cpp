// Build ids read from a mapped image, the words for fatal signals, and builtin types
// recognised without their names (cores whose binaries are gone).
#include <catch2/catch.hpp>
#include <link.h>
#include <signal.h>

#include <cstring>

#include "target/build_id.hpp"
#include "target/elf_file.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"
#include "cpython/object_reader.hpp"
#include "stackscope/process_info.hpp"
#include "target/remote_memory.hpp"
#include "synthetic_memory.hpp"

using namespace stackscope;

namespace {

// This test binary's own image, read from its own memory the way a core's pages would be.
size_t read_own_memory(uint64_t address, std::span<uint8_t> out) {
    std::memcpy(out.data(), reinterpret_cast<const void*>(address), out.size());
    return out.size();
}

uint64_t own_image_base() {
    uint64_t base = 0;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            // The first object is the executable: its lowest PT_LOAD maps file offset 0.
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const auto& ph = info->dlpi_phdr[i];
                if (ph.p_type == PT_LOAD && ph.p_offset == 0)
                    *static_cast<uint64_t*>(data) = info->dlpi_addr + ph.p_vaddr;
            }
            return 1;
        },
        &base);
    return base;
}

}  // namespace

TEST_CASE("mapped_image_identity: the build id and headers of this process's own image", "[build_id]") {
    const uint64_t base = own_image_base();
    REQUIRE(base != 0);
    const MappedImageIdentity identity = mapped_image_identity(read_own_memory, base);
    const ElfFile exe("/proc/self/exe");
    REQUIRE(exe.build_id());
    CHECK(identity.build_id == exe.build_id());
    REQUIRE(identity.headers.size() >= 64);
    CHECK(std::memcmp(identity.headers.data(), exe.data(), identity.headers.size()) == 0);
}

TEST_CASE("mapped_image_identity: absent or foreign pages identify nothing", "[build_id]") {
    const auto nothing = [](uint64_t, std::span<uint8_t>) -> size_t { return 0; };
    CHECK(mapped_image_identity(nothing, 0x400000).headers.empty());
    const auto zeros = [](uint64_t, std::span<uint8_t> out) {
        std::memset(out.data(), 0, out.size());
        return out.size();
    };
    const MappedImageIdentity identity = mapped_image_identity(zeros, 0x400000);
    CHECK(identity.headers.empty());
    CHECK_FALSE(identity.build_id);
}

TEST_CASE("build_id_hex", "[build_id]") {
    const uint8_t id[] = {0x00, 0x1f, 0xa0, 0xff};
    CHECK(build_id_hex(id) == "001fa0ff");
}

TEST_CASE("signal names and causes", "[process_info]") {
    CHECK(signal_name(SIGSEGV) == "SIGSEGV");
    CHECK(signal_name(SIGABRT) == "SIGABRT");
    CHECK(signal_name(0) == "signal 0");
    CHECK(signal_name(1000) == "signal 1000");
    FatalSignal segv{1, SIGSEGV, SEGV_MAPERR, 0, std::nullopt};
    CHECK(signal_cause(segv) == "address not mapped");
    FatalSignal abort_signal{1, SIGABRT, -6, std::nullopt, 42};
    CHECK(signal_cause(abort_signal) == "sent by tgkill() from pid 42");
    FatalSignal odd{1, SIGSEGV, 99, std::nullopt, std::nullopt};
    CHECK(signal_cause(odd).empty());
}

TEST_CASE("ObjectReader: learned types need no names, and unreadable static type names degrade visibly",
          "[object_reader]") {
    auto layout = stackscope::layout_for(3, 13);
    REQUIRE(layout);
    stackscope_test::SyntheticTarget target;
    stackscope_test::ObjectBuilder b(target, *layout);
    const uint64_t str_type = b.type("str");
    const uint64_t hello = b.str(str_type, "hello");
    // As in a core without its binary: tp_name points into the missing .rodata.
    target.put_u64(str_type + layout->type_name, 0x7000'0000'0000);
    stackscope::RemoteMemory memory(target);
    stackscope::BuiltinTypes types;
    ObjectReader objects(memory, *layout, types);

    // Not learned: a known state, and reading a str says why it cannot.
    CHECK(objects.match(hello, stackscope::BuiltinType::Str) == stackscope::TypeMatch::Unknown);
    try {
        (void)objects.read_str(hello);
        FAIL("read_str of an unknown type did not throw");
    } catch (const Error& e) {
        CHECK(e.kind() == stackscope::ErrorKind::UnsupportedRuntime);
    }
    types.set(stackscope::BuiltinType::Str, str_type);
    CHECK(objects.read_str(hello) == "hello");
    CHECK(objects.match(hello, stackscope::BuiltinType::Bytes) == stackscope::TypeMatch::Unknown);
    // Learned, it is named by the table; a static type that is neither learned nor readably
    // named shows its address.
    CHECK(objects.class_name(str_type) == "str");
    const uint64_t unnamed_type = b.type("bytes");
    target.put_u64(unnamed_type + layout->type_name, 0x7000'0000'0000);
    memory.clear();
    CHECK(objects.class_name(unnamed_type) == "<type at " + stackscope::hex(unnamed_type) + ">");

    // A readable name, even the builtin's own, does not make a type the learned one.
    const uint64_t other_type = b.type("str");
    CHECK(objects.match(b.str(other_type, "x"), stackscope::BuiltinType::Str) == stackscope::TypeMatch::No);
}
