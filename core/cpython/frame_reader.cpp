#include "cpython/frame_reader.hpp"

#include <algorithm>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"
#include "cpython/line_tables.hpp"

namespace stackscope {

namespace {

// Frames of threading's start-up machinery, hidden unless asked for (as upstream does).
bool is_thread_bootstrap(const std::optional<std::string>& module, const std::string& name) {
    return module == "threading" && (name == "_bootstrap" || name == "_bootstrap_inner" || name == "run");
}

}  // namespace

uint64_t FrameReader::code_of(uint64_t frame) {
    uint64_t code = mem_.read_pointer(frame + l_.frame_code);
    if (l_.code_reference == CodeReference::StackRef) code &= ~l_.stackref_tag_mask;
    return code;
}

bool FrameReader::is_shim(uint64_t frame) {
    return l_.shim_owner >= 0 && mem_.read_value<uint8_t>(frame + l_.frame_owner) >= l_.shim_owner;
}

bool FrameReader::read(uint64_t frame, std::vector<Frame>& out) {
    const PythonLayout& l = l_;
    RemoteMemory& mem = mem_;
    const uint64_t code = code_of(frame);
    // Every frame on a thread's chain has an executable, if only None for a shim; a zero
    // one means the frame's memory is zero-filled, as when a core lacks that stack.
    if (code == 0)
        throw bad_data("the frame at " + hex(frame) + " is zero-filled (its memory is missing from the core?)");
    switch (objects_.match(code, BuiltinType::Code)) {
        case TypeMatch::Yes: break;
        case TypeMatch::No: return false;
        case TypeMatch::Unknown: objects_.require(code, BuiltinType::Code); break;  // throws, saying why
    }
    if (l.top_frame == TopFrameSource::ThreadStateFrame) objects_.require(frame, BuiltinType::Frame);
    CodeInfo& info = code_info(code);

    const std::optional<int64_t> code_unit = code_unit_of(frame, code);
    const std::optional<int> line = code_unit ? cached_line_at(info, *code_unit) : std::nullopt;
    std::optional<std::string> owner;
    if (l.function_name == FunctionNameSource::SelfOrClsHeuristic) owner = class_of_first_argument(frame, info);
    const std::optional<std::string>& module = module_of(mem.read_pointer(frame + l.frame_globals));
    bool entry = false;
    switch (l.entry_rule) {
        case EntryFrameRule::EveryFrame: entry = true; break;
        case EntryFrameRule::IsEntryFlag: entry = mem.read_value<uint8_t>(frame + l.frame_is_entry) != 0; break;
        case EntryFrameRule::ShimFrames: break;  // marked by the walk when it passes a shim
    }

    // At most (the function is the qualname, or the owner and the name).
    const size_t text_bytes = 2 * info.name.size() + info.qualname.size() + (owner ? owner->size() + 1 : 0) +
                              info.filename.size() + (module ? module->size() : 0);
    if (text_bytes > kMaxFrameTextBytes - frame_text_bytes_)
        throw bad_data("the frames read hold more than " + std::to_string(kMaxFrameTextBytes >> 20) +
                           " MiB of names (the frame at " + hex(frame) + " is one too many)",
                       frame);
    frame_text_bytes_ += text_bytes;

    // Made in place, once everything that may throw is read: a frame is 344 bytes, and W2's
    // 10,000 tasks have 21,000 of them.
    Frame& f = out.emplace_back();
    f.address = frame;
    f.name = info.name;
    switch (l.function_name) {
        case FunctionNameSource::CodeQualname: f.function = info.qualname; break;
        case FunctionNameSource::SelfOrClsHeuristic: f.function = owner ? *owner + "." + info.name : info.name; break;
    }
    f.filename = info.filename;
    f.coroutine = info.coroutine;
    f.line = line;
    f.module = module;
    f.hidden = is_thread_bootstrap(f.module, f.name);
    f.entry = entry;
    return true;
}

// The instruction as a code unit: -1 before the first instruction, nullopt for garbage.
std::optional<int64_t> FrameReader::code_unit_of(uint64_t frame, uint64_t code) {
    const PythonLayout& l = l_;
    switch (l.instruction) {
        case InstructionPointer::LastiBytes: {
            const int32_t lasti = mem_.read_value<int32_t>(frame + l.frame_instruction);
            return lasti < 0 ? -1 : lasti / kCodeUnitSize;
        }
        case InstructionPointer::LastiUnits: return std::max(-1, mem_.read_value<int32_t>(frame + l.frame_instruction));
        case InstructionPointer::PrevInstr:
        case InstructionPointer::NextInstr: {
            const uint64_t pointer = mem_.read_pointer(frame + l.frame_instruction);
            const uint64_t first = code + static_cast<uint64_t>(l.code_adaptive);
            constexpr auto unit = static_cast<uint64_t>(kCodeUnitSize);
            if (pointer >= first && (pointer - first) / unit <= UINT32_MAX)
                return static_cast<int64_t>((pointer - first) / unit);
            if (pointer < first && first - pointer <= unit) return -1;
            return std::nullopt;
        }
    }
    return std::nullopt;
}

std::optional<int> FrameReader::cached_line_at(CodeInfo& info, int64_t code_unit) {
    if (const auto it = info.lines.find(code_unit); it != info.lines.end()) return it->second;
    if (code_unit >= 0 && !info.lines_unknown) {
        if (info.line_table.size() > kMaxLineScanBytes - line_scan_bytes_)
            return info.lines.emplace(code_unit, std::nullopt).first->second;
        line_scan_bytes_ += info.line_table.size();
    }
    return info.lines.emplace(code_unit, line_at(info, code_unit)).first->second;
}

std::optional<int> FrameReader::line_at(const CodeInfo& info, int64_t code_unit) {
    if (code_unit < 0) return info.first_line;
    if (info.lines_unknown) return std::nullopt;
    switch (l_.line_table) {
        case LineTableFormat::Lnotab: return lnotab_line(info.line_table, info.first_line, code_unit * kCodeUnitSize);
        case LineTableFormat::Pep626:
            return linetable310_line(info.line_table, info.first_line, code_unit * kCodeUnitSize);
        case LineTableFormat::Locations:
            return location_line(info.line_table, info.first_line, static_cast<uint32_t>(code_unit));
    }
    return std::nullopt;
}

FrameReader::Location FrameReader::location(uint64_t frame) {
    const uint64_t code = code_of(frame);
    objects_.require(code, BuiltinType::Code);
    CodeInfo& info = code_info(code);
    const std::optional<int64_t> code_unit = code_unit_of(frame, code);
    return {info.filename, code_unit ? cached_line_at(info, *code_unit) : std::nullopt};
}

FrameReader::LineTable FrameReader::line_table(uint64_t code) {
    const CodeInfo& info = code_info(code);
    return {info.first_line, info.lines_unknown ? nullptr : &info.line_table};
}

FrameReader::Definition FrameReader::definition_of(uint64_t code) {
    objects_.require(code, BuiltinType::Code);
    const CodeInfo& info = code_info(code);
    return {info.filename, info.first_line};
}

FrameReader::CodeInfo& FrameReader::code_info(uint64_t code) {
    auto it = codes_.find(code);
    if (it != codes_.end()) return it->second;
    const PythonLayout& l = l_;
    RemoteMemory& mem = mem_;
    CodeInfo info;
    info.name = objects_.read_str(mem.read_pointer(code + l.code_name), kMaxCodeName);
    if (l.function_name == FunctionNameSource::CodeQualname)
        info.qualname = objects_.read_str(mem.read_pointer(code + l.code_qualname), kMaxCodeName);
    else info.first_argument = first_argument(code);
    info.filename = objects_.read_str(mem.read_pointer(code + l.code_filename), kMaxFilename);
    info.first_line = mem.read_value<int32_t>(code + l.code_firstlineno);
    // CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR, the same on every version.
    constexpr uint32_t kAsyncCode = 0x80 | 0x100 | 0x200;
    info.coroutine = (mem.read_value<uint32_t>(code + l.code_flags) & kAsyncCode) != 0;
    info.line_table = objects_.read_bytes(mem.read_pointer(code + l.code_linetable), kMaxLineTable);
    if (info.line_table.size() > kMaxLineTableBytes - line_table_bytes_) {
        info.line_table = {};
        info.lines_unknown = true;
    }
    line_table_bytes_ += info.line_table.size();
    return codes_.emplace(code, std::move(info)).first->second;
}

// Where the first argument lives when it is named self or cls, for the class-name heuristic
// of versions without co_qualname (as upstream stackscope guesses: it can be fooled).
std::optional<FrameReader::FirstArgument> FrameReader::first_argument(uint64_t code) {
    const PythonLayout& l = l_;
    RemoteMemory& mem = mem_;
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

std::optional<std::string> FrameReader::class_of_first_argument(uint64_t frame, const CodeInfo& info) {
    if (!info.first_argument) return std::nullopt;
    const PythonLayout& l = l_;
    RemoteMemory& mem = mem_;
    try {
        const int slot = info.first_argument->cell_index.value_or(0);
        if (slot < 0 || slot > 1 << 16) return std::nullopt;
        uint64_t value = mem.read_pointer(frame + l.frame_localsplus + 8 * static_cast<uint64_t>(slot));
        if (value && info.first_argument->cell_index) {
            if (!objects_.is_instance_of(value, BuiltinType::Cell)) return std::nullopt;
            value = mem.read_pointer(value + l.cell_ref);
        }
        if (!value) return std::nullopt;
        if (!info.first_argument->is_class) return objects_.class_name(objects_.type_of(value));
        return objects_.is_class(value) ? std::optional(objects_.class_name(value)) : std::nullopt;
    } catch (const Error&) {
        return std::nullopt;
    }
}

const std::optional<std::string>& FrameReader::module_of(uint64_t globals) {
    if (const auto* known = modules_.find(globals)) return *known;
    std::optional<std::string> name;
    try {
        if (globals) {
            if (auto value = objects_.dict_get(globals, "__name__")) name = objects_.read_str(*value, 1024);
        }
    } catch (const Error&) {
        // an unreadable module name is shown as unknown, not as a broken stack
    }
    return modules_.insert(globals, std::move(name));
}

}  // namespace stackscope
