#pragma once
// The active `with` / `async with` blocks of each frame of a stack: which blocks enclose the
// frame's current instruction (its block stack before 3.11, its exception table's handler
// chain from 3.11), the manager each keeps on the value stack, the `as` target, and whether
// the frame is inside a manager's __exit__ / __aexit__ (upstream stackscope's rules).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpython/code_variables.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/opcodes.hpp"
#include "cpython/with_analysis.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

class FrameContexts {
public:
    static constexpr size_t kMaxCodeUnits = 1 << 18;
    static constexpr size_t kMaxExceptionTable = 1 << 20;
    // What all the code objects analysed may hold together: each keeps its instructions and
    // exception table for the extraction, and a hostile target can point every frame at a
    // code object of its own.
    static constexpr size_t kMaxInstructionsInAll = size_t{1} << 23;
    static constexpr size_t kMaxExceptionTablesInAll = size_t{1} << 26;

    FrameContexts(ObjectReader& objects, FrameReader& frames);
    ~FrameContexts();
    FrameContexts(const FrameContexts&) = delete;
    FrameContexts& operator=(const FrameContexts&) = delete;

    // Fills each frame's contexts (outermost first); a frame whose blocks cannot be read gets
    // contexts_error instead, and the others are still read.
    void add_contexts(Stack& stack);

private:
    struct CodeAnalysis;
    class RemoteSymbols;

    std::vector<Context> read_contexts(const Frame& frame, const Frame* next_inner);
    CodeAnalysis& analysis_of(uint64_t code);
    std::vector<uint8_t> bytecode_of(uint64_t code);
    void restore_originals(uint64_t code, std::vector<uint8_t>& bytes);
    uint64_t manager_from_exit(uint64_t exit);
    bool is_type(uint64_t object, BuiltinType type, std::string_view tp_name);
    uint64_t manager_in_slots(uint64_t frame, uint64_t code, uint32_t depth);
    uint64_t value_stack_base(uint64_t frame, uint64_t code);
    uint64_t first_argument(const Frame& frame);
    std::optional<std::string> local_holding(uint64_t frame, CodeAnalysis& analysis, uint64_t object);
    Context make_context(const WithBlockInfo& block, uint64_t manager);

    ObjectReader& objects_;
    FrameReader& frames_;
    RemoteMemory& mem_;
    const PythonLayout& l_;
    const OpcodeTable* opcodes_;
    int setup_finally_ = -1;  // the block type of SETUP_FINALLY, SETUP_WITH and SETUP_ASYNC_WITH blocks
    // Code objects are immutable: analysed once per extraction.
    std::unordered_map<uint64_t, std::unique_ptr<CodeAnalysis>> codes_;
    size_t line_table_bytes_ = 0;  // what their decoded line tables hold (RemoteSymbols)
    size_t instructions_ = 0;      // their instructions, together
    size_t table_bytes_ = 0;       // and their exception tables' bytes
};

}  // namespace stackscope
