#pragma once
// What each context's manager holds, as upstream's elaborate_context hooks say it: the rules of
// the library that defines the manager's type (contextlib_glue: a @contextmanager's generator
// stack, an ExitStack's callbacks), applied to every context of a stack and, recursively, to
// the contexts of the stacks and children they give, within bounds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "extract/extraction.hpp"
#include "extract/object_stacks.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

class ContextElaboration;

// One library's rules (upstream's glue for one module).
class ContextGlue {
public:
    virtual ~ContextGlue() = default;
    // Elaborates `context` when `type` (its manager's) is one this library's rules know; false
    // when not. Throws Error when the manager cannot be read.
    virtual bool elaborate(Context& context, uint64_t type, ContextElaboration& host) = 0;
};

class ContextElaboration {
public:
    static constexpr size_t kMaxDepth = 24;        // contexts inside contexts (inner stacks, children)
    static constexpr size_t kMaxContexts = 20000;  // elaborated by one ContextElaboration

    // `threads`: the snapshot's (a running generator's frames are its thread's); they may be
    // the threads whose stacks are elaborated, which then see each other as read so far.
    ContextElaboration(Extraction& x, const std::vector<Thread>& threads);
    ~ContextElaboration();
    ContextElaboration(const ContextElaboration&) = delete;
    ContextElaboration& operator=(const ContextElaboration&) = delete;

    // Every context of every frame. Never throws for bad data: a context says its own error.
    void elaborate(Stack& stack);
    // One context, replacing what an earlier elaboration gave it.
    void elaborate(Context& context);
    // Upstream's extract_child: the stack of a generator (coroutine, ...) with its frames'
    // contexts, each elaborated; its error says what could not be read.
    Stack stack_of(uint64_t object);

    ObjectReader& objects() { return x_.objects(); }
    ObjectRepr& reprs() { return x_.reprs(); }

private:
    Extraction& x_;
    ObjectStackReader stacks_;
    std::vector<std::unique_ptr<ContextGlue>> glues_;
    std::vector<uint64_t> path_;  // the managers being elaborated, outermost first
    size_t count_ = 0;
};

}  // namespace stackscope
