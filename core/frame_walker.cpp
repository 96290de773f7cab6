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

Stack FrameWalker::thread_stack(uint64_t thread_state) {
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
            if (visited.size() > kMaxFrames) throw bad_data("more than " + std::to_string(kMaxFrames) + " frames");
            if (l.shim_owner >= 0 && mem.read_value<uint8_t>(frame + l.frame_owner) >= l.shim_owner) {
                // A C-stack shim: the Python frame just newer than it was entered from C.
                if (newer_frame_described) newest_first.back().entry = true;
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
    uint64_t code = mem.read_pointer(frame + l.frame_code);
    if (l.code_reference == CodeReference::StackRef) code &= ~uint64_t{3};
    if (code == 0 || !objects_.is_instance_of(code, "code")) return std::nullopt;
    const CodeInfo& info = code_info(code);

    // The instruction as a code unit: -1 before the first instruction, nullopt for garbage.
    std::optional<int64_t> code_unit;
    switch (l.instruction) {
        case InstructionPointer::LastiBytes:
            code_unit = mem.read_value<int32_t>(frame + l.frame_instruction) / 2;
            break;
        case InstructionPointer::LastiUnits:
            code_unit = mem.read_value<int32_t>(frame + l.frame_instruction);
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
    f.function = l.has_qualname ? info.qualname : info.name;
    f.filename = info.filename;
    if (code_unit) f.line = line_at(info, *code_unit);
    f.module = module_of(mem.read_pointer(frame + l.frame_globals));
    f.hidden = is_thread_bootstrap(f.module, f.name);
    if (l.entry_rule == EntryFrameRule::IsEntryFlag) f.entry = mem.read_value<uint8_t>(frame + l.frame_is_entry) != 0;
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
    info.qualname = l.has_qualname ? objects_.read_str(mem.read_pointer(code + l.code_qualname)) : info.name;
    info.filename = objects_.read_str(mem.read_pointer(code + l.code_filename));
    info.first_line = mem.read_value<int32_t>(code + l.code_firstlineno);
    info.line_table = objects_.read_bytes(mem.read_pointer(code + l.code_linetable), kMaxLineTable);
    return codes_.emplace(code, std::move(info)).first->second;
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
