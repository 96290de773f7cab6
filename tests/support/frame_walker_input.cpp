// Fuzz entry points of the whole extraction over a memory image: runtime discovery, the
// thread and frame walks, the with-blocks and variables of each frame (--locals), the object
// reader, or the asyncio tasks (--tasks), and the renderers over what they produced.
#include "stackscope/callback_target.hpp"
#include "stackscope/error.hpp"
#include "stackscope/formatters.hpp"
#include "fuzz_inputs.hpp"
#include "memory_image.hpp"
#include "stackscope/snapshot.hpp"

namespace stackscope_fuzz {

namespace {

constexpr uint64_t kPage = 4096;

void render(const stackscope::Snapshot& snapshot) {
    (void)stackscope::format_snapshot_tree(snapshot, {});
    (void)stackscope::format_snapshot_tree(snapshot, {.ascii = true, .show_hidden = true});
    (void)stackscope::format_snapshot_flat(snapshot, {});
    (void)stackscope::format_snapshot_tree(snapshot, {.color = true});
    (void)stackscope::format_snapshot_json(snapshot);
    for (const stackscope::Thread& t : snapshot.threads) (void)stackscope::frames_by_eval_call(t.stack);
}

enum class Read { ThreadsThenObjects, Tasks };

// The threads, then (when the image names any) its objects, as --object reads them; or the
// threads and every asyncio task, as --tasks reads them (the registries, each thread's running
// loop and task, who awaits whom).
Outcome snapshot_and_render(stackscope::Target& target, const std::vector<uint64_t>& objects, Read what) {
    try {
        stackscope::SnapshotOptions options;
        if (what == Read::Tasks) {
            options.tasks = true;
            render(stackscope::take_snapshot(target, nullptr, options));
            return Outcome::Value;
        }
        options.locals = true;
        render(stackscope::take_snapshot(target, nullptr, options));
        options.objects = objects;
        if (!objects.empty()) render(stackscope::take_snapshot(target, nullptr, options));
        return Outcome::Value;
    } catch (const stackscope::Error&) {
        return Outcome::Error;
    }
}

Outcome read_image(std::span<const uint8_t> data, Read what) {
    auto image = MemoryImage::parse(data);
    if (!image) return Outcome::TooShort;
    const bool through_callbacks = image->flags & MemoryImage::kThroughCallbacks;
    const std::vector<uint64_t> objects = image->objects;
    ImageTarget target(std::move(*image));
    if (!through_callbacks) return snapshot_and_render(target, objects, what);
    // As a debugger serves memory: a read that crosses into an unreadable page fails whole.
    stackscope::TargetCallbacks callbacks;
    callbacks.read = [&](uint64_t address, std::span<uint8_t> out) -> size_t {
        const size_t got = target.read(address, out);
        const bool several_pages = !out.empty() && address / kPage != (address + out.size() - 1) / kPage;
        return got < out.size() && several_pages ? 0 : got;
    };
    callbacks.regions = [&] { return target.regions(); };
    callbacks.threads = [&] { return target.threads(); };
    callbacks.lookup_symbol = [&](std::string_view name) { return target.lookup_symbol(name); };
    callbacks.local_file = [](const std::string&) { return std::optional<std::string>(); };
    callbacks.pid = target.pid();
    stackscope::CallbackTarget callback_target(std::move(callbacks));
    return snapshot_and_render(callback_target, objects, what);
}

}  // namespace

Outcome frame_walker(std::span<const uint8_t> data) { return read_image(data, Read::ThreadsThenObjects); }

Outcome tasks(std::span<const uint8_t> data) { return read_image(data, Read::Tasks); }

}  // namespace stackscope_fuzz
