#include "extract/context_elaboration.hpp"

#include <algorithm>
#include <string>

#include "extract/contextlib_glue.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

ContextElaboration::ContextElaboration(Extraction& x, const std::vector<Thread>& threads)
    : x_(x), stacks_(x, threads, ObjectStackReader::Purpose::Objects, ObjectStackReader::Chains::Exclusive) {
    glues_.push_back(std::make_unique<ContextlibGlue>());
}

ContextElaboration::~ContextElaboration() = default;

void ContextElaboration::elaborate(Stack& stack) {
    // The vectors are not resized here: a running generator's frames may be copied from this
    // very stack meanwhile.
    for (Frame& f : stack.frames)
        for (Context& c : f.contexts) elaborate(c);
}

void ContextElaboration::elaborate(Context& context) {
    context.description.clear();
    context.inner_stack.reset();
    context.children.clear();
    context.error.reset();
    if (!context.address) return;  // the manager is unknown
    if (++count_ > kMaxContexts) {
        context.error = "more than " + std::to_string(kMaxContexts) + " contexts to elaborate: not read";
        return;
    }
    if (std::find(path_.begin(), path_.end(), context.address) != path_.end()) {
        context.error = "the manager at " + hex(context.address) + " holds itself (a cycle): not read again";
        return;
    }
    if (path_.size() >= kMaxDepth) {
        context.error = "contexts nested more than " + std::to_string(kMaxDepth) + " deep: not read";
        return;
    }
    path_.push_back(context.address);
    try {
        const uint64_t type = x_.objects().type_of(context.address);
        for (const auto& glue : glues_)
            if (glue->elaborate(context, type, *this)) break;
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) {
            path_.pop_back();
            throw;
        }
        context.error = e.what();
    }
    path_.pop_back();
}

Stack ContextElaboration::stack_of(uint64_t object) {
    ObjectStack read = stacks_.read(object);
    x_.contexts().add_contexts(read.stack);
    elaborate(read.stack);
    return std::move(read.stack);
}

}  // namespace stackscope
