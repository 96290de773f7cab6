#include "frame_walker.hpp"

#include <algorithm>
#include <unordered_set>

#include "error.hpp"
#include "hex.hpp"
#include "line_tables.hpp"

namespace stackscope {

namespace {

// Frames of threading's start-up machinery, hidden unless asked for (as upstream does).
bool is_thread_bootstrap(const std::optional<std::string>& module, const std::string& name) {
    return module == "threading" && (name == "_bootstrap" || name == "_bootstrap_inner" || name == "run");
}

}  // namespace

uint64_t FrameWalker::newest_frame(uint64_t thread_state) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    switch (l.top_frame) {
        case TopFrameSource::ThreadStateFrame:
        case TopFrameSource::ThreadStateCurrentFrame:
            return mem.read_pointer(thread_state + l.tstate_frame);
        case TopFrameSource::CFrameCurrentFrame: {
            const uint64_t cframe = mem.read_pointer(thread_state + l.tstate_frame);
            return cframe ? mem.read_pointer(cframe + l.cframe_current_frame) : 0;
        }
    }
    return 0;
}

FrameWalker::FrameChain FrameWalker::frame_chain(uint64_t thread_state) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    FrameChain chain;
    std::unordered_set<uint64_t> visited;
    for (uint64_t frame = newest_frame(thread_state); frame != 0; frame = mem.read_pointer(frame + l.frame_previous)) {
        if (frame % 8 != 0 || !visited.insert(frame).second || visited.size() > kMaxFrames) {
            throw bad_data("the frame chain is inconsistent at " + hex(frame));
        }
        chain.push_back({frame, mem.read_pointer(frame + l.frame_code)});
    }
    return chain;
}

uint64_t FrameWalker::code_of(uint64_t frame) {
    const PythonLayout& l = objects_.layout();
    uint64_t code = objects_.memory().read_pointer(frame + l.frame_code);
    if (l.code_reference == CodeReference::StackRef) code &= ~uint64_t{3};
    return code;
}

std::vector<uint64_t> FrameWalker::frame_executables(uint64_t thread_state, size_t limit) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    std::vector<uint64_t> out;
    std::unordered_set<uint64_t> visited;
    try {
        for (uint64_t frame = newest_frame(thread_state); frame != 0 && out.size() < limit && visited.size() < kMaxFrames;
             frame = mem.read_pointer(frame + l.frame_previous)) {
            if (frame % 8 != 0 || !visited.insert(frame).second) break;
            if (l.shim_owner >= 0 && mem.read_value<uint8_t>(frame + l.frame_owner) >= l.shim_owner) continue;
            if (const uint64_t code = code_of(frame)) out.push_back(code);
        }
    } catch (const Error&) {
        // the anchors read so far stand
    }
    return out;
}

Stack FrameWalker::thread_stack(uint64_t thread_state, FrameChain* chain) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    Stack stack;
    std::vector<Frame> newest_first;
    std::unordered_set<uint64_t> visited;
    bool newer_frame_described = false;  // the frame just newer than this one is newest_first.back()
    try {
        for (uint64_t frame = newest_frame(thread_state); frame != 0; frame = mem.read_pointer(frame + l.frame_previous)) {
            if (frame % 8 != 0) throw bad_data("misaligned frame pointer " + hex(frame));
            if (!visited.insert(frame).second) throw bad_data("the frame chain loops at " + hex(frame));
            if (exclusive_frames_) {
                const auto [owner, fresh] = frame_owners_.emplace(frame, thread_state);
                if (!fresh && owner->second != thread_state) {
                    throw bad_data("the frame at " + hex(frame) + " is on another thread's stack too");
                }
            }
            if (visited.size() > kMaxFrames) throw bad_data("more than " + std::to_string(kMaxFrames) + " frames");
            if (chain) chain->push_back({frame, mem.read_pointer(frame + l.frame_code)});
            if (l.shim_owner >= 0 && mem.read_value<uint8_t>(frame + l.frame_owner) >= l.shim_owner) {
                // A C-stack shim: the Python frame just newer than it was entered from C.
                if (newer_frame_described) {
                    newest_first.back().entry = true;
                    newest_first.back().eval_stack_address = frame;
                }
                newer_frame_described = false;
                continue;
            }
            auto described = describe_frame(frame);
            newer_frame_described = described.has_value();
            if (described) newest_first.push_back(std::move(*described));
        }
    } catch (const Error& e) {
        stack.error = e.what();
    }
    stack.frames.assign(std::make_move_iterator(newest_first.rbegin()), std::make_move_iterator(newest_first.rend()));
    return stack;
}

std::optional<Frame> FrameWalker::describe_frame(uint64_t frame) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    const uint64_t code = code_of(frame);
    // Every frame on a thread's chain has an executable, if only None for a shim; a zero
    // one means the frame's memory is zero-filled, as when a core lacks that stack.
    if (code == 0) throw bad_data("the frame at " + hex(frame) + " is zero-filled (its memory is missing from the core?)");
    if (!objects_.is_instance_of(code, "code")) return std::nullopt;
    if (l.top_frame == TopFrameSource::ThreadStateFrame && !objects_.is_instance_of(frame, "frame")) {
        throw bad_data("object at " + hex(frame) + " in the frame chain is not a frame");
    }
    const CodeInfo& info = code_info(code);

    // The instruction as a code unit: -1 before the first instruction, nullopt for garbage.
    std::optional<int64_t> code_unit;
    switch (l.instruction) {
        case InstructionPointer::LastiBytes: {
            const int32_t lasti = mem.read_value<int32_t>(frame + l.frame_instruction);
            code_unit = lasti < 0 ? -1 : lasti / 2;
            break;
        }
        case InstructionPointer::LastiUnits:
            code_unit = std::max(-1, mem.read_value<int32_t>(frame + l.frame_instruction));
            break;
        case InstructionPointer::PrevInstr:
        case InstructionPointer::NextInstr: {
            const uint64_t pointer = mem.read_pointer(frame + l.frame_instruction);
            const uint64_t first = code + static_cast<uint64_t>(l.code_adaptive);
            if (pointer >= first && (pointer - first) / 2 <= UINT32_MAX) code_unit = static_cast<int64_t>((pointer - first) / 2);
            else if (pointer < first && first - pointer <= 2) code_unit = -1;
            break;
        }
    }

    Frame f;
    f.address = frame;
    f.name = info.name;
    switch (l.function_name) {
        case FunctionNameSource::CodeQualname: f.function = info.qualname; break;
        case FunctionNameSource::SelfOrClsHeuristic: {
            const auto owner = class_of_first_argument(frame, info);
            f.function = owner ? *owner + "." + info.name : info.name;
            break;
        }
    }
    f.filename = info.filename;
    if (code_unit) f.line = line_at(info, *code_unit);
    f.module = module_of(mem.read_pointer(frame + l.frame_globals));
    f.hidden = is_thread_bootstrap(f.module, f.name);
    switch (l.entry_rule) {
        case EntryFrameRule::EveryFrame: f.entry = true; break;
        case EntryFrameRule::IsEntryFlag: f.entry = mem.read_value<uint8_t>(frame + l.frame_is_entry) != 0; break;
        case EntryFrameRule::ShimFrames: break;  // marked by the walk when it passes a shim
    }
    return f;
}

std::optional<int> FrameWalker::line_at(const CodeInfo& info, int64_t code_unit) {
    if (code_unit < 0) return info.first_line;
    switch (objects_.layout().line_table) {
        case LineTableFormat::Lnotab:
            return lnotab_line(info.line_table, info.first_line, code_unit * 2);
        case LineTableFormat::Pep626:
            return linetable310_line(info.line_table, info.first_line, code_unit * 2);
        case LineTableFormat::Locations:
            return location_line(info.line_table, info.first_line, static_cast<uint32_t>(code_unit));
    }
    return std::nullopt;
}

const FrameWalker::CodeInfo& FrameWalker::code_info(uint64_t code) {
    auto it = codes_.find(code);
    if (it != codes_.end()) return it->second;
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    CodeInfo info;
    info.name = objects_.read_str(mem.read_pointer(code + l.code_name));
    if (l.function_name == FunctionNameSource::CodeQualname) info.qualname = objects_.read_str(mem.read_pointer(code + l.code_qualname));
    else info.first_argument = first_argument(code);
    info.filename = objects_.read_str(mem.read_pointer(code + l.code_filename));
    info.first_line = mem.read_value<int32_t>(code + l.code_firstlineno);
    info.line_table = objects_.read_bytes(mem.read_pointer(code + l.code_linetable), kMaxLineTable);
    return codes_.emplace(code, std::move(info)).first->second;
}

// Where the first argument lives when it is named self or cls, for the class-name heuristic
// of versions without co_qualname (as upstream stackscope guesses: it can be fooled).
std::optional<FrameWalker::FirstArgument> FrameWalker::first_argument(uint64_t code) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    try {
        if (mem.read_value<int32_t>(code + l.code_argcount) <= 0) return std::nullopt;
        const std::string name = objects_.read_str(objects_.tuple_item(mem.read_pointer(code + l.code_varnames), 0), 8);
        if (name != "self" && name != "cls") return std::nullopt;
        FirstArgument arg;
        arg.is_class = name == "cls";
        // A first argument captured by a closure lives in a cell after the locals.
        const uint64_t cellvars = mem.read_pointer(code + l.code_cellvars);
        const auto cell_count = mem.read_value<int64_t>(cellvars + l.var_size);
        for (int64_t i = 0; i < std::min<int64_t>(cell_count, 256); ++i) {
            if (objects_.read_str(objects_.tuple_item(cellvars, static_cast<uint64_t>(i)), 8) == name) {
                // In 64 bits: a garbage co_nlocals near INT32_MAX must not overflow.
                const int64_t slot = int64_t{mem.read_value<int32_t>(code + l.code_nlocals)} + i;
                if (slot < 0 || slot > INT32_MAX) return std::nullopt;
                arg.cell_index = static_cast<int>(slot);
            }
        }
        return arg;
    } catch (const Error&) {
        return std::nullopt;
    }
}

std::optional<std::string> FrameWalker::class_of_first_argument(uint64_t frame, const CodeInfo& info) {
    if (!info.first_argument) return std::nullopt;
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    try {
        const int slot = info.first_argument->cell_index.value_or(0);
        if (slot < 0 || slot > 1 << 16) return std::nullopt;
        uint64_t value = mem.read_pointer(frame + l.frame_localsplus + 8 * static_cast<uint64_t>(slot));
        if (value && info.first_argument->cell_index) {
            if (!objects_.is_instance_of(value, "cell")) return std::nullopt;
            value = mem.read_pointer(value + l.cell_ref);
        }
        if (!value) return std::nullopt;
        if (!info.first_argument->is_class) return objects_.class_name(objects_.type_of(value));
        return objects_.is_class(value) ? std::optional(objects_.class_name(value)) : std::nullopt;
    } catch (const Error&) {
        return std::nullopt;
    }
}

std::optional<std::string> FrameWalker::module_of(uint64_t globals) {
    auto it = modules_.find(globals);
    if (it != modules_.end()) return it->second;
    std::optional<std::string> name;
    try {
        if (globals) {
            if (auto value = objects_.dict_get(globals, "__name__")) name = objects_.read_str(*value, 1024);
        }
    } catch (const Error&) {
        // an unreadable module name is shown as unknown, not as a broken stack
    }
    return modules_.emplace(globals, name).first->second;
}

}  // namespace stackscope
