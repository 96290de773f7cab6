#pragma once
// One extraction: everything that reading a target once needs, built once and handed to every
// reader, with the lifetime of each cache stated.
//
//   memory()         the page cache: one read of the target; forget_reads() drops it for a
//                    target that runs, together with every PerReadCache (read_cache.hpp)
//   runtime()        _PyRuntime and the version's layout: the whole extraction
//   types()          the builtin types by address: the whole extraction (types never move)
//   objects()        reads objects; caches type and class names and dict-key strings, which
//                    are immutable: the whole extraction
//   frames()         reads one frame; caches code objects (immutable): the whole extraction,
//                    module names (from mutable dicts): one read
//   flavour()        release or debug build, from the sys module: the whole extraction
//   thread_stacks()  walks threads' frame chains; remembers which thread each frame is on
//                    (a frame is on one thread's stack only): the whole extraction
//   contexts()       reads frames' with-blocks; caches each code object's analysis
//                    (immutable): the whole extraction
//   futures()        asyncio Futures and Tasks: their classes (the whole extraction), what
//                    each one is (one read)
//   reprs()          bounded repr() of objects; keeps nothing about an object's contents
//   locals()         reads frames' variables (--locals); caches each code object's variable
//                    names and kinds (immutable): the whole extraction; values are read each time
#include "cpython/asyncio_futures.hpp"
#include "cpython/build_flavour.hpp"
#include "cpython/builtin_types.hpp"
#include "cpython/frame_contexts.hpp"
#include "cpython/frame_locals.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/object_repr.hpp"
#include "target/remote_memory.hpp"
#include "cpython/runtime_discovery.hpp"
#include "stackscope/target.hpp"
#include "cpython/thread_stack.hpp"

namespace stackscope {

class Extraction {
public:
    // Finds the runtime (throws Error(UnsupportedRuntime) when there is none) and learns its
    // builtin types. `exclusive_frames`: see ThreadStackWalker (false for a running target).
    Extraction(Target& target, bool exclusive_frames);
    Extraction(const Extraction&) = delete;
    Extraction& operator=(const Extraction&) = delete;

    Target& target() { return target_; }
    RemoteMemory& memory() { return memory_; }
    const PythonRuntime& runtime() const { return runtime_; }
    const PythonLayout& layout() const { return runtime_.layout; }
    const BuiltinTypes& types() const { return types_; }
    // Release, or a debug build the tables know (others are refused when the extraction starts).
    BuildFlavour flavour() const { return flavour_; }
    ObjectReader& objects() { return objects_; }
    FrameReader& frames() { return frames_; }
    ThreadStackWalker& thread_stacks() { return thread_stacks_; }
    FrameContexts& contexts() { return contexts_; }
    AsyncioFutures& futures() { return futures_; }
    ObjectRepr& reprs() { return reprs_; }
    FrameLocals& locals() { return locals_; }

    // Forgets what was read from the target's memory, so that the next reads see it as it is now.
    void forget_reads() { memory_.clear(); }

private:
    Target& target_;
    RemoteMemory memory_;
    PythonRuntime runtime_;
    BuiltinTypes types_;
    ObjectReader objects_;
    FrameReader frames_;
    ThreadStackWalker thread_stacks_;
    FrameContexts contexts_;
    AsyncioFutures futures_;
    ObjectRepr reprs_;
    FrameLocals locals_;
    BuildFlavour flavour_ = BuildFlavour::Release;
};

}  // namespace stackscope
