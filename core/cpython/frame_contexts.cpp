#include "cpython/frame_contexts.hpp"

#include <algorithm>

#include "cpython/frame_slots.hpp"
#include "cpython/line_tables.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxName = 256;
constexpr size_t kMaxConstRepr = 200;
constexpr uint32_t kMaxStackDepth = 1 << 16;

// repr() of a str, as Python writes it.
std::string str_repr(const std::string& text) {
    const bool use_double = text.find('\'') != std::string::npos && text.find('"') == std::string::npos;
    const char quote = use_double ? '"' : '\'';
    std::string out(1, quote);
    for (unsigned char c : text) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c == static_cast<unsigned char>(quote)) {
                    out += '\\';
                    out += static_cast<char>(c);
                } else if (c < 0x20 || c == 0x7f) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\x";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + quote;
}

}  // namespace

// What the bytecode of one code object says, with the names it needs read from the target.
class FrameContexts::RemoteSymbols : public CodeSymbols {
public:
    // `line_bytes`: what the decoded locations of every code object analysed hold, shared.
    RemoteSymbols(ObjectReader& objects, FrameReader& frames, uint64_t code, size_t& line_bytes)
        : objects_(objects), frames_(frames), code_(code), line_bytes_(line_bytes) {}
    uint64_t code() const { return code_; }

    std::optional<std::string> name(uint32_t index) override { return item(objects_.layout().code_names, index); }
    std::optional<std::string> local(uint32_t index) override {
        const PythonLayout& l = objects_.layout();
        return item(l.code_variables == CodeVariablesFormat::LocalsPlus ? l.code_localsplusnames : l.code_varnames,
                    index);
    }
    std::optional<std::string> deref(uint32_t index) override {
        const PythonLayout& l = objects_.layout();
        if (l.code_variables == CodeVariablesFormat::LocalsPlus) return item(l.code_localsplusnames, index);
        try {
            const uint64_t cells = objects_.memory().read_pointer(code_ + static_cast<uint64_t>(l.code_cellvars));
            const auto cell_count = objects_.memory().read_value<int64_t>(cells + static_cast<uint64_t>(l.var_size));
            if (cell_count < 0) return std::nullopt;
            if (index < cell_count) return item(l.code_cellvars, index);
            return item(l.code_freevars, static_cast<uint32_t>(index - cell_count));
        } catch (const Error&) {
            return std::nullopt;
        }
    }
    std::optional<std::string> const_repr(uint32_t index) override {
        try {
            const uint64_t value = constant(index);
            if (objects_.is_instance_or_named(value, BuiltinType::NoneType, "NoneType")) return "None";
            if (objects_.is_instance_or_named(value, BuiltinType::Str, "str"))
                return str_repr(objects_.read_str(value, kMaxConstRepr));
            if (objects_.is_instance_or_named(value, BuiltinType::Bool, "bool"))
                return objects_.read_int(value) ? "True" : "False";
            if (objects_.is_instance_or_named(value, BuiltinType::Int, "int"))
                return std::to_string(objects_.read_int(value));
        } catch (const Error&) {}
        return std::nullopt;
    }
    bool const_is_none(uint32_t index) override {
        try {
            return objects_.is_instance_or_named(constant(index), BuiltinType::NoneType, "NoneType");
        } catch (const Error&) {}
        return false;
    }
    std::optional<int> line_at(uint32_t unit) override {
        const PythonLayout& l = objects_.layout();
        try {
            load_line_table();
            if (lines_unknown_) return std::nullopt;
            if (l.line_table == LineTableFormat::Locations) {
                // Decoded once: the analysis asks a line for each of a code's with-blocks.
                if (!locations_) {
                    locations_.emplace();  // a table that does not decode is tried once
                    std::vector<Location> decoded = decode_locations(*line_table_, first_line_);
                    // 40 bytes a table byte: many code objects naming one huge table would
                    // make gigabytes of a few megabytes of the target.
                    if (!charge(decoded.size() * sizeof(Location))) return std::nullopt;
                    *locations_ = std::move(decoded);
                }
                auto it = std::upper_bound(locations_->begin(), locations_->end(), unit,
                                           [](uint32_t u, const Location& loc) { return u < loc.start; });
                if (it == locations_->begin() || unit >= (--it)->end) return std::nullopt;
                return it->line;
            }
            // The older tables are walked from their start for each line: a budget per code object,
            // and the bytes walked count against the extraction's budget (many code objects may
            // name one table of a megabyte).
            if (older_lookups_ == kMaxOlderLineLookups || !charge(line_table_->size())) return std::nullopt;
            ++older_lookups_;
            if (l.line_table == LineTableFormat::Lnotab)
                return lnotab_line(*line_table_, first_line_, int64_t{unit} * kCodeUnitSize);
            return linetable310_line(*line_table_, first_line_, int64_t{unit} * kCodeUnitSize);
        } catch (const Error&) {
            return std::nullopt;  // a damaged line table leaves the block without a line
        }
    }

private:
    static constexpr int kMaxOlderLineLookups = 512;
    static constexpr size_t kMaxLineBytes = 256 << 20;

    // The table FrameReader keeps for the code's frames.
    void load_line_table() {
        if (line_table_ || lines_unknown_) return;
        const FrameReader::LineTable table = frames_.line_table(code_);
        first_line_ = table.first_line;
        line_table_ = table.table;
        lines_unknown_ = !table.table;
    }

    // Whether `bytes` more fit in what decoded locations may hold, and older tables may have
    // walked, in all (kMaxLineBytes); they are counted when they do.
    bool charge(size_t bytes) {
        if (bytes > kMaxLineBytes - line_bytes_) return false;
        line_bytes_ += bytes;
        return true;
    }

    uint64_t constant(uint32_t index) {
        const uint64_t consts =
            objects_.memory().read_pointer(code_ + static_cast<uint64_t>(objects_.layout().code_consts));
        return objects_.tuple_item(consts, index);
    }
    std::optional<std::string> item(Offset tuple_field, uint32_t index) {
        try {
            const uint64_t tuple = objects_.memory().read_pointer(code_ + static_cast<uint64_t>(tuple_field));
            return objects_.read_str(objects_.tuple_item(tuple, index), kMaxName);
        } catch (const Error&) {
            return std::nullopt;
        }
    }

    ObjectReader& objects_;
    FrameReader& frames_;
    uint64_t code_;
    size_t& line_bytes_;
    const std::vector<uint8_t>* line_table_ = nullptr;  // FrameReader's
    bool lines_unknown_ = false;                        // FrameReader keeps no table for it
    std::optional<std::vector<Location>> locations_;
    int older_lookups_ = 0;
    int first_line_ = 0;
};

struct FrameContexts::CodeAnalysis {
    RemoteSymbols symbols;
    std::optional<CodeWithBlocks> blocks;
    std::optional<std::vector<std::string>> local_names;  // read when a manager is looked for among them
};

FrameContexts::FrameContexts(ObjectReader& objects, FrameReader& frames)
    : objects_(objects),
      frames_(frames),
      mem_(objects.memory()),
      l_(objects.layout()),
      opcodes_(opcode_table(objects.layout().version.major, objects.layout().version.minor)) {
    if (!opcodes_) return;
    for (int byte = 0; byte < 256; ++byte)
        if (opcodes_->op[byte] == Op::SetupFinally && opcodes_->base[byte] == byte) setup_finally_ = byte;
}

FrameContexts::~FrameContexts() = default;

void FrameContexts::add_contexts(Stack& stack) {
    for (size_t i = 0; i < stack.frames.size(); ++i) {
        Frame& frame = stack.frames[i];
        try {
            frame.contexts = read_contexts(frame, i + 1 < stack.frames.size() ? &stack.frames[i + 1] : nullptr);
        } catch (const Error& e) {
            frame.contexts.clear();
            frame.contexts_error = e.what();
        }
    }
}

std::vector<uint8_t> FrameContexts::bytecode_of(uint64_t code) {
    if (l_.code_variables == CodeVariablesFormat::Separate)
        return objects_.read_bytes(mem_.read_pointer(code + static_cast<uint64_t>(l_.code_bytecode)),
                                   kMaxCodeUnits * kCodeUnitSize);
    const auto units = mem_.read_value<int64_t>(code + static_cast<uint64_t>(l_.var_size));
    if (units < 0 || static_cast<uint64_t>(units) > kMaxCodeUnits)
        throw bad_data("the code object at " + hex(code) + " claims " + std::to_string(units) + " code units");
    std::vector<uint8_t> bytes =
        mem_.read_bytes(code + static_cast<uint64_t>(l_.code_adaptive), static_cast<size_t>(units) * kCodeUnitSize);
    restore_originals(code, bytes);
    return bytes;
}

// Puts back the opcodes sys.monitoring (INSTRUMENTED_LINE, INSTRUMENTED_INSTRUCTION) and the
// tier-2 optimizer (ENTER_EXECUTOR) replaced, from where they keep them, as CPython's
// _Py_GetBaseCodeUnit does. Only instruction starts are looked at: cache units hold counters.
void FrameContexts::restore_originals(uint64_t code, std::vector<uint8_t>& bytes) {
    const size_t units = bytes.size() / kCodeUnitSize;
    uint64_t monitoring = 0, lines = 0, per_instruction = 0;
    std::optional<uint8_t> line_entry_size;  // nullopt: {opcode, line delta} pairs
    auto monitoring_data = [&] {
        if (monitoring) return;
        if (l_.code_monitoring == kAbsent)
            throw bad_data("an instrumented instruction in a version without sys.monitoring");
        monitoring = mem_.read_pointer(code + static_cast<uint64_t>(l_.code_monitoring));
        if (!monitoring) throw bad_data("an instrumented instruction in code without monitoring data");
    };
    auto original_of_line = [&](size_t unit) -> uint8_t {
        monitoring_data();
        if (!lines) {
            lines = mem_.read_pointer(monitoring + static_cast<uint64_t>(l_.monitoring_lines));
            if (!lines) throw bad_data("instrumented lines without their original opcodes");
            const uint8_t first = mem_.read_value<uint8_t>(lines);
            const bool sized = l_.monitoring_lines_format == MonitoringLinesFormat::BytesPerEntry ||
                               (l_.monitoring_lines_format == MonitoringLinesFormat::Either && first != 0);
            if (sized) {
                if (first < 2 || first > 5)
                    throw bad_data("instrumented line entries of " + std::to_string(first) + " bytes");
                line_entry_size = first;
            }
        }
        if (line_entry_size) return mem_.read_value<uint8_t>(lines + 1 + unit * *line_entry_size);
        return mem_.read_value<uint8_t>(lines + 2 * unit);
    };
    auto original_of_instruction = [&](size_t unit) -> uint8_t {
        monitoring_data();
        if (!per_instruction) {
            per_instruction =
                mem_.read_pointer(monitoring + static_cast<uint64_t>(l_.monitoring_per_instruction_opcodes));
            if (!per_instruction) throw bad_data("instrumented instructions without their original opcodes");
        }
        return mem_.read_value<uint8_t>(per_instruction + unit);
    };
    for (size_t unit = 0; unit < units;) {
        uint8_t& opcode = bytes[unit * kCodeUnitSize];
        uint8_t& oparg = bytes[unit * kCodeUnitSize + 1];
        if (opcodes_->op[opcode] == Op::EnterExecutor) {
            if (l_.code_executors == kAbsent) throw bad_data("ENTER_EXECUTOR in a version without executors");
            const uint64_t executors = mem_.read_pointer(code + static_cast<uint64_t>(l_.code_executors));
            if (!executors || oparg >= mem_.read_value<int32_t>(executors))
                throw bad_data("ENTER_EXECUTOR names a missing executor");
            const uint64_t executor =
                mem_.read_pointer(executors + static_cast<uint64_t>(l_.executor_array_items) + 8 * uint64_t{oparg});
            if (!executor) throw bad_data("ENTER_EXECUTOR names a missing executor");
            opcode = mem_.read_value<uint8_t>(executor + static_cast<uint64_t>(l_.executor_opcode));
            oparg = mem_.read_value<uint8_t>(executor + static_cast<uint64_t>(l_.executor_oparg));
        }
        if (opcodes_->op[opcode] == Op::InstrumentedLine) opcode = original_of_line(unit);
        if (opcodes_->op[opcode] == Op::InstrumentedInstruction) opcode = original_of_instruction(unit);
        const Op op = opcodes_->op[opcode];
        if (op == Op::InstrumentedLine || op == Op::InstrumentedInstruction || op == Op::EnterExecutor)
            throw bad_data("an instrumented instruction whose original opcode is instrumented again");
        unit += 1 + opcodes_->caches[opcode];
    }
}

FrameContexts::CodeAnalysis& FrameContexts::analysis_of(uint64_t code) {
    auto it = codes_.find(code);
    if (it != codes_.end()) return *it->second;
    // A code object that cannot be analysed is not remembered: a running target's next read
    // may succeed.
    if (!opcodes_) throw Error(ErrorKind::UnsupportedRuntime, "no opcode table for Python " + l_.version.str());
    if (instructions_ > kMaxInstructionsInAll || table_bytes_ > kMaxExceptionTablesInAll)
        throw bad_data("the code objects on the stacks hold over " + std::to_string(kMaxInstructionsInAll) +
                       " instructions or " + std::to_string(kMaxExceptionTablesInAll) +
                       " bytes of exception tables in all: no more with-blocks are read");
    auto analysis = std::make_unique<CodeAnalysis>(
        CodeAnalysis{RemoteSymbols(objects_, frames_, code, line_table_bytes_), std::nullopt, std::nullopt});
    std::vector<ExceptionEntry> table;
    if (l_.with_blocks == WithBlockSource::HandlerChain) {
        const std::vector<uint8_t> table_bytes = objects_.read_bytes(
            mem_.read_pointer(code + static_cast<uint64_t>(l_.code_exceptiontable)), kMaxExceptionTable);
        table_bytes_ += table_bytes.size();
        table = decode_exception_table(table_bytes);
    }
    std::vector<Instruction> instructions =
        decode_instructions(bytecode_of(code), *opcodes_, CodeWithBlocks::kMaxInstructions);
    instructions_ += instructions.size();
    analysis->blocks.emplace(std::move(instructions), std::move(table), WithRules::of(l_, *opcodes_),
                             analysis->symbols);
    return *codes_.emplace(code, std::move(analysis)).first->second;
}

std::vector<Context> FrameContexts::read_contexts(const Frame& frame, const Frame* next_inner) {
    const uint64_t code = frames_.code_of(frame.address);
    CodeAnalysis& analysis = analysis_of(code);
    CodeWithBlocks& blocks = *analysis.blocks;
    if (blocks.blocks().empty()) return {};
    const auto unit = frames_.code_unit_of(frame.address, code);
    if (!unit) throw bad_data("the frame's instruction pointer is outside its code");
    if (*unit < 0) return {};  // not started
    const auto at = static_cast<uint32_t>(*unit);

    std::vector<Context> contexts;
    switch (l_.with_blocks) {
        case WithBlockSource::HandlerChain: {
            const std::vector<ActiveBlock> active = blocks.active_blocks(at);
            for (auto it = active.rbegin(); it != active.rend(); ++it)
                contexts.push_back(
                    make_context(*blocks.block_at(it->handler), manager_in_slots(frame.address, code, it->depth)));
            break;
        }
        case WithBlockSource::BlockStack: {
            const auto count = mem_.read_value<int32_t>(frame.address + static_cast<uint64_t>(l_.frame_iblock));
            if (count < 0 || count > l_.frame_max_blocks)
                throw bad_data("the frame claims " + std::to_string(count) + " blocks");
            for (int32_t i = 0; i < count; ++i) {
                const uint64_t block = frame.address + static_cast<uint64_t>(l_.frame_blockstack) +
                                       static_cast<uint64_t>(l_.try_block_size) * static_cast<uint64_t>(i);
                const auto type = mem_.read_value<int32_t>(block + static_cast<uint64_t>(l_.try_block_type));
                const auto handler = mem_.read_value<int32_t>(block + static_cast<uint64_t>(l_.try_block_handler));
                const auto level = mem_.read_value<int32_t>(block + static_cast<uint64_t>(l_.try_block_level));
                if (type != setup_finally_ || handler < 0) continue;
                const auto unit_of_handler =
                    static_cast<uint32_t>(opcodes_->jumps_in_units ? handler : handler / kCodeUnitSize);
                const WithBlockInfo* info = blocks.block_at(unit_of_handler);
                if (!info) continue;
                if (level < 1 || static_cast<uint32_t>(level) > kMaxStackDepth)
                    throw bad_data("a with-block's stack level is " + std::to_string(level));
                contexts.push_back(
                    make_context(*info, manager_in_slots(frame.address, code, static_cast<uint32_t>(level))));
            }
            break;
        }
    }
    for (Context& c : contexts)
        if (!c.varname && c.address) c.varname = local_holding(frame.address, analysis, c.address);

    if (const auto exiting = blocks.exiting_at(at, analysis.symbols)) {
        Context c = make_context(*blocks.block_at(exiting->handler), next_inner ? first_argument(*next_inner) : 0);
        c.is_exiting = true;
        contexts.push_back(std::move(c));
    }
    return contexts;
}

Context FrameContexts::make_context(const WithBlockInfo& block, uint64_t manager) {
    Context c;
    c.address = manager;
    c.varname = block.target;
    c.start_line = block.start_line;
    c.line_of_item = l_.with_lines_are_items;
    c.is_async = block.is_async;
    try {
        if (manager) c.type_name = objects_.type_name(objects_.type_of(manager));
    } catch (const Error&) {
        c.address = 0;  // no readable object: the manager is unknown, as when there is none
    }
    return c;
}

uint64_t FrameContexts::value_stack_base(uint64_t frame, uint64_t code) {
    if (l_.with_blocks == WithBlockSource::BlockStack)
        return mem_.read_pointer(frame + static_cast<uint64_t>(l_.frame_valuestack));
    const auto slots = mem_.read_value<int32_t>(code + static_cast<uint64_t>(l_.code_nlocalsplus));
    if (slots < 0 || slots > CodeVariablesReader::kMaxVariables)
        throw bad_data("the code object at " + hex(code) + " claims " + std::to_string(slots) + " locals");
    return frame + static_cast<uint64_t>(l_.frame_localsplus) + 8 * static_cast<uint64_t>(slots);
}

// The manager of the block whose exit lies just below `depth` on the value stack.
uint64_t FrameContexts::manager_in_slots(uint64_t frame, uint64_t code, uint32_t depth) {
    if (depth > kMaxStackDepth) throw bad_data("a with-block's stack depth is " + std::to_string(depth));
    const uint64_t base = value_stack_base(frame, code);
    auto slot = [&](uint32_t index) { return mem_.read_pointer(base + 8 * uint64_t{index}) & ~l_.stackref_tag_mask; };
    switch (l_.with_exit_slots) {
        case WithExitSlots::BoundExit:
            if (depth < 1) throw bad_data("a with-block handler has depth 0");
            return manager_from_exit(slot(depth - 1));
        case WithExitSlots::CallableAndSelf: {
            if (depth < 2) throw bad_data("a with-block handler has depth " + std::to_string(depth));
            if (const uint64_t self = slot(depth - 1)) return self;
            return manager_from_exit(slot(depth - 2));
        }
    }
    return 0;
}

// The object a bound __exit__ belongs to; 0 for an unbound callable (a staticmethod).
uint64_t FrameContexts::manager_from_exit(uint64_t exit) {
    if (!exit) return 0;
    if (is_type(exit, BuiltinType::Method, "method"))
        return mem_.read_pointer(exit + static_cast<uint64_t>(l_.method_self));
    if (objects_.is_builtin_function(exit)) return mem_.read_pointer(exit + static_cast<uint64_t>(l_.cfunction_self));
    if (objects_.static_type_name(objects_.type_of(exit)) == std::optional<std::string>("method-wrapper"))
        return mem_.read_pointer(exit + static_cast<uint64_t>(l_.method_wrapper_self));
    return 0;
}

bool FrameContexts::is_type(uint64_t object, BuiltinType type, std::string_view tp_name) {
    return objects_.is_instance_or_named(object, type, tp_name);
}

// Upstream names an exiting manager by the first argument of the frame it called (its
// __exit__'s self); None, as a staticmethod's first argument is, names nothing.
uint64_t FrameContexts::first_argument(const Frame& frame) {
    const uint64_t value = FrameSlots(objects_, frames_).first_argument(frame.address);
    try {
        if (!value || is_type(value, BuiltinType::NoneType, "NoneType")) return 0;
    } catch (const Error&) {
        return 0;
    }
    return value;
}

// Upstream's fallback name for a manager without an `as` target: the frame's local that
// holds it (the last one, when several do).
std::optional<std::string> FrameContexts::local_holding(uint64_t frame, CodeAnalysis& analysis, uint64_t object) {
    try {
        const uint64_t code = analysis.symbols.code();
        const auto flags = mem_.read_value<uint32_t>(code + static_cast<uint64_t>(l_.code_flags));
        if (!(flags & l_.code_flag_optimized)) {
            // Module and class bodies keep their locals in a dict (a module's is its globals).
            const uint64_t dict = mem_.read_pointer(frame + static_cast<uint64_t>(l_.frame_locals));
            if (!dict) return std::nullopt;
            std::optional<std::string> found;
            for (const ObjectReader::DictEntry& e : objects_.dict_items(dict))
                if (e.value == object) found = objects_.read_str(e.key, kMaxName);
            return found;
        }
        if (!analysis.local_names) analysis.local_names = CodeVariablesReader(objects_).slot_names(code);
        const std::vector<std::string>& names = *analysis.local_names;
        std::optional<std::string> found;
        for (size_t i = 0; i < names.size(); ++i) {
            uint64_t value =
                mem_.read_pointer(frame + static_cast<uint64_t>(l_.frame_localsplus) + 8 * i) & ~l_.stackref_tag_mask;
            if (value && value != object && is_type(value, BuiltinType::Cell, "cell"))
                value = mem_.read_pointer(value + static_cast<uint64_t>(l_.cell_ref));
            if (value == object) found = names[i];
        }
        return found;
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace stackscope
