#pragma once
// What a code object's bytecode says about its `with` / `async with` blocks: where each one's
// handler is, its `as` target and its line; which of them enclose an instruction; and
// whether an instruction is the call of a block's __exit__ / __aexit__. Pure: the bytecode,
// exception table and names come in decoded, so the analysis can be tested and fuzzed
// without a process. Every input is untrusted and every walk is bounded.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpython/exception_table.hpp"
#include "cpython/opcodes.hpp"
#include "cpython/python_layout.hpp"

namespace stackscope {

// The names and constants instructions refer to, looked up on demand (from the target).
// nullopt when one cannot be read.
class CodeSymbols {
public:
    virtual ~CodeSymbols() = default;
    virtual std::optional<std::string> name(uint32_t index) = 0;   // co_names
    virtual std::optional<std::string> local(uint32_t index) = 0;  // a fast local (LOAD_FAST/STORE_FAST)
    virtual std::optional<std::string> deref(uint32_t index) = 0;  // a cell or free variable (LOAD_DEREF/STORE_DEREF)
    virtual std::optional<std::string> const_repr(uint32_t index) = 0;  // repr() of a constant
    virtual bool const_is_none(uint32_t index) = 0;
    virtual std::optional<int> line_at(uint32_t unit) = 0;  // the line of the instruction at a code unit
};

// The version's rules the analysis follows (python_layout.hpp, opcodes.hpp).
struct WithRules {
    const OpcodeTable& opcodes;
    WithBlockSource source = WithBlockSource::HandlerChain;
    int exit_call_oparg = 2;
    int exit_await_oparg = 2;
    int load_global_name_shift = 1;
    int load_attr_name_shift = 1;

    static WithRules of(const PythonLayout& layout, const OpcodeTable& opcodes);
};

// One `with` block of a code object, keyed by its handler: the first unit of its exception
// handler (3.11+: PUSH_EXC_INFO; 3.8-3.10: the with-cleanup the block stack names).
struct WithBlockInfo {
    uint32_t handler = 0;
    bool is_async = false;
    std::optional<std::string> target;  // the `as` target as source text; nullopt when none or not understood
    std::optional<int> start_line;
};

// A with-block enclosing an instruction (3.11+), innermost first from active_blocks().
struct ActiveBlock {
    uint32_t handler = 0;
    uint32_t depth = 0;  // the handler's value-stack depth: the block's __exit__ lies just below
};

// An __exit__ / __aexit__ call the instruction is in the middle of.
struct ExitingBlock {
    uint32_t handler = 0;
    bool is_async = false;
};

class CodeWithBlocks {
public:
    static constexpr size_t kMaxInstructions = 1 << 17;
    static constexpr size_t kMaxChain = 256;  // handler-chain steps, more than CPython's nesting allows
    static constexpr size_t kMaxBlocks = 1 << 12;

    CodeWithBlocks(std::vector<Instruction> instructions, std::vector<ExceptionEntry> table, const WithRules& rules,
                   CodeSymbols& symbols);

    // Every block, in bytecode order (at most kMaxBlocks).
    const std::vector<WithBlockInfo>& blocks() const { return blocks_; }
    const WithBlockInfo* block_at(uint32_t handler) const;

    // 3.11+: the with-blocks whose handlers an exception at `unit` would pass through,
    // innermost first (the exception-table handler chain).
    std::vector<ActiveBlock> active_blocks(uint32_t unit) const;

    // Whether the instruction at `unit` calls (or awaits) one of the blocks' __exit__.
    // 3.8-3.10 need the control-flow walk that maps each POP_BLOCK to its block (done once).
    std::optional<ExitingBlock> exiting_at(uint32_t unit, CodeSymbols& symbols);

private:
    void find_blocks(CodeSymbols& symbols);
    std::optional<size_t> index_at(uint32_t unit) const;
    std::optional<uint32_t> jump_target(const Instruction& instruction) const;
    std::optional<uint32_t> handler_popped_at(size_t pop_block_index);
    std::optional<std::string> describe_target(size_t first, CodeSymbols& symbols) const;
    std::optional<int> line_of(size_t index, CodeSymbols& symbols) const;

    std::vector<Instruction> instructions_;
    std::vector<ExceptionEntry> table_;
    WithRules rules_;
    std::vector<WithBlockInfo> blocks_;
    std::unordered_map<uint32_t, size_t> block_index_;                     // handler -> blocks_ index
    std::optional<std::unordered_map<size_t, uint32_t>> popped_handlers_;  // POP_BLOCK index -> handler
};

}  // namespace stackscope
