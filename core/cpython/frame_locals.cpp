#include "cpython/frame_locals.hpp"

#include <cstring>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// Contexts hold stacks whose frames hold contexts: the extraction bounds that nesting, and
// this bounds it again so that no model can make the walk deep.
constexpr int kMaxNesting = 64;

}  // namespace

void FrameLocals::add_locals(Stack& stack) { add_stack_locals(stack, 0); }

void FrameLocals::add_stack_locals(Stack& stack, int depth) {
    if (depth > kMaxNesting) return;
    for (Frame& frame : stack.frames) {
        try {
            frame.locals = read_locals(frame);
            frame.locals_error.reset();
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
            frame.locals.emplace();
            frame.locals_error = e.what();
        }
        for (Context& context : frame.contexts) add_context_locals(context, depth + 1);
    }
}

void FrameLocals::add_context_locals(Context& context, int depth) {
    if (depth > kMaxNesting) return;
    if (context.inner_stack) add_stack_locals(**context.inner_stack, depth + 1);
    for (ContextChild& child : context.children) {
        if (auto* nested = std::get_if<Boxed<Context>>(&child)) add_context_locals(**nested, depth + 1);
        else add_stack_locals(*std::get<Boxed<Stack>>(child), depth + 1);
    }
}

const CodeVariables& FrameLocals::variables_of(uint64_t code) {
    if (auto it = codes_.find(code); it != codes_.end()) return it->second;
    // A code object that cannot be read is not remembered: a running target's next read may succeed.
    CodeVariables variables = variables_.read(code);
    // Each code object can claim 16,384 names (read up to 256 characters each): what is kept for
    // all of them is bounded.
    size_t bytes = 0;
    for (const std::string& name : variables.slot_names) bytes += sizeof(std::string) + name.size();
    for (const CodeVariable& v : variables.shown) bytes += sizeof(CodeVariable) + v.name.size();
    if (bytes > kMaxNameBytes - name_bytes_)
        throw bad_data(
            "the variable names of the code objects read exceed " + std::to_string(kMaxNameBytes >> 20) + " MiB", code);
    name_bytes_ += bytes;
    return codes_.emplace(code, std::move(variables)).first->second;
}

std::vector<Local> FrameLocals::read_locals(const Frame& frame) {
    const CodeVariables& variables = variables_of(frames_.code_of(frame.address));
    std::vector<Local> out;
    if (!variables.optimized || variables.shown.empty()) return out;
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const std::vector<uint8_t> raw =
        mem.read_bytes(frame.address + static_cast<uint64_t>(l.frame_localsplus), 8 * variables.slot_names.size());
    for (const CodeVariable& v : variables.shown) {
        uint64_t value = 0;
        std::memcpy(&value, raw.data() + 8 * static_cast<size_t>(v.slot), 8);
        value &= ~l.stackref_tag_mask;
        if (!value) continue;
        // A captured argument's slot holds its plain value until the frame's MAKE_CELL runs
        // (3.11+), as CPython's own frame_get_var allows: only a cell is opened. A slot whose
        // object cannot be read is that variable's problem, not the frame's.
        if (v.in_cell) {
            try {
                if (objects_.is_instance_or_named(value, BuiltinType::Cell, "cell"))
                    value = mem.read_pointer(value + static_cast<uint64_t>(l.cell_ref));
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::Internal) throw;
                out.push_back({v.name, v.kind, "<unreadable " + hex(value) + ">"});
                continue;
            }
            if (!value) continue;  // an empty cell: unbound
        }
        out.push_back({v.name, v.kind, reprs_.repr(value)});
    }
    return out;
}

}  // namespace stackscope
