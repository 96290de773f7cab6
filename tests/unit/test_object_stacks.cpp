// Objects read by address (--object) over the seed images' generators and coroutines
// (tests/support/seed_images.cpp), and over corrupted copies of them: each object's stack,
// state, thread and error.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "cpython/python_layout.hpp"
#include "extract/extraction.hpp"
#include "extract/object_stacks.hpp"
#include "memory_image.hpp"
#include "seed_images.hpp"
#include "stackscope/hex.hpp"
#include "stackscope/snapshot.hpp"

namespace {

using stackscope::GeneratorState;
using stackscope::ObjectStack;

stackscope::Snapshot objects_of(stackscope_fuzz::MemoryImage image, std::vector<uint64_t> objects = {}) {
    if (objects.empty()) objects = image.objects;
    stackscope_fuzz::ImageTarget target(std::move(image));
    return stackscope::take_snapshot(target, nullptr, {.objects = objects});
}

std::vector<std::string> frame_names(const ObjectStack& o) {
    std::vector<std::string> out;
    for (const auto& f : o.stack.frames) out.push_back(f.function + ":" + std::to_string(f.line.value_or(-1)));
    return out;
}

// Overwrites the 8 bytes at `address` inside one of the image's blocks.
void poke(stackscope_fuzz::MemoryImage& image, uint64_t address, uint64_t value) {
    auto it = image.blocks.upper_bound(address);
    REQUIRE(it != image.blocks.begin());
    --it;
    REQUIRE(address + 8 <= it->first + it->second.bytes.size());
    std::memcpy(it->second.bytes.data() + (address - it->first), &value, 8);
}

}  // namespace

TEST_CASE("Objects of a 3.12 image: await chain, running, not started, finished, errors", "[objects]") {
    const auto image = stackscope_fuzz::seed_image_312();
    const auto snap = objects_of(image);
    REQUIRE(snap.objects_asked);
    CHECK(snap.threads.empty());
    REQUIRE(snap.objects.size() == 6);

    const ObjectStack& awaiting = snap.objects[0];
    CHECK(awaiting.type == "coroutine");
    CHECK(awaiting.state == GeneratorState::Suspended);
    CHECK(awaiting.stack.root.description.rfind("<coroutine object Service.outer at 0x", 0) == 0);
    CHECK(frame_names(awaiting) == std::vector<std::string>{"Service.outer:21", "Service.outer.<locals>.inner:35"});
    CHECK_FALSE(awaiting.stack.leaf);
    CHECK_FALSE(awaiting.stack.error);

    const ObjectStack& running = snap.objects[1];
    CHECK(running.type == "generator");
    CHECK(running.state == GeneratorState::Running);
    CHECK(running.stack.root.thread_tid == 1002);  // the worker runs it
    CHECK(frame_names(running) == std::vector<std::string>{"Service.outer:21"});

    const ObjectStack& not_started = snap.objects[2];
    CHECK(not_started.state == GeneratorState::Created);
    CHECK(frame_names(not_started) == std::vector<std::string>{"Service.outer.<locals>.inner:30"});

    const ObjectStack& finished = snap.objects[3];
    CHECK(finished.state == GeneratorState::Finished);
    CHECK(finished.stack.frames.empty());
    CHECK_FALSE(finished.stack.error);

    const ObjectStack& a_dict = snap.objects[4];
    CHECK(a_dict.type == "dict");
    REQUIRE(a_dict.stack.error);
    CHECK(a_dict.stack.error->kind == stackscope::ErrorKind::BadInput);
    CHECK(a_dict.stack.error->message.find("is a dict, not a generator") != std::string::npos);

    const ObjectStack& nothing = snap.objects[5];
    CHECK_FALSE(nothing.type);
    REQUIRE(nothing.stack.error);
    CHECK(nothing.stack.error->message.find("no readable object at 0x8") != std::string::npos);
    CHECK(snap.partial());
}

TEST_CASE("Objects of a 3.13 image (suspended-in-yield-from state, debug offsets)", "[objects]") {
    const auto image = stackscope_fuzz::seed_image_313(std::string(STACKSCOPE_FIXTURES) + "/debug_offsets_3.13.bin");
    const auto snap = objects_of(image);
    REQUIRE(snap.objects.size() == 6);
    CHECK(frame_names(snap.objects[0]) ==
          std::vector<std::string>{"Service.outer:21", "Service.outer.<locals>.inner:35"});
    CHECK(snap.objects[1].state == GeneratorState::Running);
    CHECK(snap.objects[2].state == GeneratorState::Created);
    CHECK(snap.objects[3].state == GeneratorState::Finished);
}

TEST_CASE("Objects of a 3.10 image: yield from through f_valuestack, gi_frame NULL", "[objects]") {
    const auto snap = objects_of(stackscope_fuzz::seed_image_310());
    REQUIRE(snap.objects.size() == 4);
    const ObjectStack& relay = snap.objects[0];
    CHECK(relay.type == "generator");
    CHECK(relay.state == GeneratorState::Suspended);
    CHECK(relay.stack.root.description.rfind("<generator object relay at 0x", 0) == 0);
    CHECK(frame_names(relay) == std::vector<std::string>{"relay:41", "produce:41"});
    CHECK_FALSE(relay.stack.error);
    CHECK(snap.objects[1].state == GeneratorState::Finished);
    CHECK(snap.objects[1].stack.frames.empty());
    REQUIRE(snap.objects[2].stack.error);  // an instance of a class defined in Python
    CHECK(snap.objects[2].stack.error->message.find("is a Service, not a generator") != std::string::npos);
    CHECK(snap.objects[3].stack.error);
}

TEST_CASE("A corrupt await chain ends with an error after the frames read", "[objects]") {
    auto image = stackscope_fuzz::seed_image_312();
    const auto l = *stackscope::layout_for(3, 12);
    const uint64_t awaiting = image.objects[0];
    const uint64_t top_slot = awaiting + static_cast<uint64_t>(l.gen_frame + l.frame_localsplus);

    SECTION("awaiting itself loops") {
        poke(image, top_slot, awaiting);
        const auto snap = objects_of(image, {awaiting});
        REQUIRE(snap.objects[0].stack.error);
        CHECK(snap.objects[0].stack.error->message.find("the await chain loops") != std::string::npos);
        CHECK(frame_names(snap.objects[0]) == std::vector<std::string>{"Service.outer:21"});
    }
    SECTION("awaiting an unmapped address") {
        poke(image, top_slot, 0x7000);
        const auto snap = objects_of(image, {awaiting});
        REQUIRE(snap.objects[0].stack.error);
        CHECK(snap.objects[0].stack.error->kind == stackscope::ErrorKind::UnreadableMemory);
        CHECK(snap.objects[0].stack.frames.size() == 1);
    }
    SECTION("an implausible stack top") {
        const uint64_t frame = awaiting + static_cast<uint64_t>(l.gen_frame);
        poke(image, frame + l.frame_stack_top, 0x7fffffff);
        const auto snap = objects_of(image, {awaiting});
        REQUIRE(snap.objects[0].stack.error);
        CHECK(snap.objects[0].stack.error->message.find("implausible stack top") != std::string::npos);
    }
    SECTION("a state no version has") {
        poke(image, awaiting + static_cast<uint64_t>(l.gen_frame_state) - 3, 0xce000000);  // the state byte: -50
        const auto snap = objects_of(image, {awaiting});
        REQUIRE(snap.objects[0].stack.error);
        CHECK(snap.objects[0].stack.error->message.find("generator state") != std::string::npos);
    }
}

TEST_CASE("Await chains of tasks and context managers are their own, those of --object may share", "[objects]") {
    const auto image = stackscope_fuzz::seed_image_312();
    const auto l = *stackscope::layout_for(3, 12);
    const uint64_t outer = image.objects[0];
    // The coroutine `outer` awaits, by its frame (the chain's second).
    const auto alone = objects_of(image, {outer});
    REQUIRE(alone.objects[0].stack.frames.size() == 2);
    const uint64_t inner = alone.objects[0].stack.frames[1].address - static_cast<uint64_t>(l.gen_frame);

    // --object: asking for a coroutine and for the one it awaits shows both.
    const auto both = objects_of(image, {outer, inner});
    CHECK_FALSE(both.objects[0].stack.error);
    CHECK_FALSE(both.objects[1].stack.error);
    CHECK(frame_names(both.objects[1]) == std::vector<std::string>{"Service.outer.<locals>.inner:35"});

    // A task's or a context manager's chain: another root that reaches a generator already
    // followed is refused (else many roots could each copy one long chain); the same root read
    // again (a running target is read twice) is not.
    stackscope_fuzz::ImageTarget target(image);
    stackscope::Extraction x(target, true);
    const std::vector<stackscope::Thread> no_threads;
    stackscope::ObjectStackReader reader(x, no_threads, stackscope::ObjectStackReader::Purpose::Objects,
                                         stackscope::ObjectStackReader::Chains::Exclusive);
    CHECK_FALSE(reader.read(outer).stack.error);
    const ObjectStack shared = reader.read(inner);
    REQUIRE(shared.stack.error);
    CHECK(shared.stack.error->message.find("is on the await chain of " + stackscope::hex(outer)) != std::string::npos);
    CHECK(shared.stack.frames.empty());
    const ObjectStack again = reader.read(outer);
    CHECK_FALSE(again.stack.error);
    CHECK(frame_names(again) == std::vector<std::string>{"Service.outer:21", "Service.outer.<locals>.inner:35"});
}
