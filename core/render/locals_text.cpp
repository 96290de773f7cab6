#include "render/locals_text.hpp"

#include "render/printable.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

std::vector<std::string> local_lines(const Frame& frame, const Painter& painter) {
    std::vector<std::string> out;
    if (frame.locals) {
        for (const Local& local : *frame.locals)
            out.push_back(painter.paint(Role::LocalName, printable(local.name)) + " = " + printable(local.repr));
    }
    if (frame.locals_error)
        out.push_back(painter.paint(Role::Error, "(locals unreadable: " + printable(*frame.locals_error) + ")"));
    return out;
}

std::string local_kind_name(LocalKind kind) {
    switch (kind) {
        case LocalKind::Arg: return "arg";
        case LocalKind::Local: return "local";
        case LocalKind::Cell: return "cell";
        case LocalKind::Free: return "free";
    }
    return "local";
}

namespace {

void strip_locals(Stack& stack);

void strip_locals(Context& context) {
    if (context.inner_stack) strip_locals(**context.inner_stack);
    for (ContextChild& child : context.children) {
        if (auto* nested = std::get_if<Boxed<Context>>(&child)) strip_locals(**nested);
        else strip_locals(*std::get<Boxed<Stack>>(child));
    }
}

void strip_locals(Stack& stack) {
    for (Frame& f : stack.frames) {
        f.locals.reset();
        f.locals_error.reset();
        for (Context& c : f.contexts) strip_locals(c);
    }
}

}  // namespace

Snapshot without_locals(Snapshot snapshot) {
    for (Thread& t : snapshot.threads) strip_locals(t.stack);
    for (ObjectStack& o : snapshot.objects) strip_locals(o.stack);
    for (Task& t : snapshot.tasks) strip_locals(t.stack);
    return snapshot;
}

}  // namespace stackscope
