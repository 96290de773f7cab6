#pragma once
// contextlib's managers, as upstream's glue_contextlib elaborates them:
// - a @contextmanager / @asynccontextmanager manager (any _GeneratorContextManagerBase): its
//   generator's stack (unless it is exiting: its frames are then the next ones of the stack),
//   and `func(args)` (while the manager still has them) or `qualname(...)`;
// - an ExitStack / AsyncExitStack (any _BaseExitStack): one child per callback, outermost
//   first, named `stack[i]` and described `[await ]stack.enter_context(...)`, `stack.push(...)`,
//   `stack.callback(module.fn, args..., k=v)` and their async forms, each elaborated in turn.
// The classes are known by identity (sys.modules['contextlib']), never by name.
#include <cstdint>
#include <optional>
#include <string>

#include "extract/context_elaboration.hpp"

namespace stackscope {

class ContextlibGlue : public ContextGlue {
public:
    static constexpr size_t kMaxCallbacks = 4096;  // of one ExitStack
    static constexpr size_t kMaxArguments = 256;   // shown of one call

    bool elaborate(Context& context, uint64_t type, ContextElaboration& host) override;

private:
    // What upstream writes for one callback of an ExitStack.
    struct Callback {
        std::string method;    // enter_context, push, callback (sync names; async ones from them)
        std::string argument;  // what goes between the parentheses when the child has no description
        uint64_t manager = 0;  // what a bound callback is bound to (the child shows it); 0 for others
    };

    void generator_manager(Context& context, ContextElaboration& host);
    void exit_stack(Context& context, ContextElaboration& host);
    Callback callback_of(uint64_t callback, ContextElaboration& host);
    std::optional<std::string> wrapped_call(uint64_t function, ContextElaboration& host);
    std::optional<std::string> callable_name(uint64_t callable, ObjectReader& objects);
    std::string arguments(uint64_t args, uint64_t kwds, ContextElaboration& host);

    std::optional<std::optional<uint64_t>> generator_manager_base_;  // looked up once
    std::optional<std::optional<uint64_t>> exit_stack_base_;
};

}  // namespace stackscope
