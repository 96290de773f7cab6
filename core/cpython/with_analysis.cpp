#include "cpython/with_analysis.hpp"

#include <algorithm>
#include <deque>
#include <unordered_set>

namespace stackscope {

WithRules WithRules::of(const PythonLayout& layout, const OpcodeTable& opcodes) {
    WithRules rules{opcodes};
    rules.source = layout.with_blocks;
    rules.exit_call_oparg = layout.exit_call_oparg;
    rules.exit_await_oparg = layout.exit_await_oparg;
    rules.load_global_name_shift = layout.load_global_name_shift;
    rules.load_attr_name_shift = layout.load_attr_name_shift;
    return rules;
}

namespace {

// Whether the next instruction can run after this one (a conditional jump may fall through).
bool falls_through(Op op) {
    return op != Op::JumpForward && op != Op::JumpAbsolute && op != Op::ReturnValue && op != Op::ReturnConst &&
           op != Op::RaiseVarargs && op != Op::Reraise;
}

// An assignment-target instruction with superinstructions split into their halves.
struct TargetStep {
    enum Kind {
        Load,
        Store,
        Attr,
        StoreAttr,
        Const,
        Subscr,
        StoreSubscr,
        Slice,
        StoreSlice,
        Unpack,
        UnpackEx,
        Call,
        Dup,
        Skip,
        Unknown
    };
    Kind kind = Unknown;
    std::optional<std::string> text;
    uint32_t arg = 0;
};

constexpr size_t kMaxTargetSteps = 256;
// A target's text; longer is garbage (a doubling `COPY 1; BINARY_SUBSCR` chain would grow
// without bound).
constexpr size_t kMaxTargetText = 512;
constexpr int kMaxTargetNesting = 16;

std::string format_tuple(const std::vector<std::string>& items) {
    if (items.size() == 1) return "(" + items[0] + ",)";
    std::string out = "(";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    return out + ")";
}

class TargetDescriber {
public:
    TargetDescriber(std::vector<TargetStep> steps) : steps_(std::move(steps)) {}

    std::optional<std::string> one(int nesting) {
        if (nesting > kMaxTargetNesting) return std::nullopt;
        std::vector<std::string> stack;
        bool too_long = false;
        auto push = [&](std::string text) {
            too_long |= text.size() > kMaxTargetText;
            stack.push_back(std::move(text));
        };
        while (at_ < steps_.size()) {
            const TargetStep& s = steps_[at_++];
            auto pop = [&]() -> std::optional<std::string> {
                if (stack.empty()) return std::nullopt;
                std::string top = std::move(stack.back());
                stack.pop_back();
                return top;
            };
            switch (s.kind) {
                case TargetStep::Load:
                case TargetStep::Store:
                case TargetStep::Const:
                    if (!s.text) return std::nullopt;
                    push(*s.text);
                    break;
                case TargetStep::Attr:
                case TargetStep::StoreAttr: {
                    auto object = pop();
                    if (!object || !s.text) return std::nullopt;
                    push(*object + "." + *s.text);
                    break;
                }
                case TargetStep::Subscr:
                case TargetStep::StoreSubscr: {
                    auto index = pop();
                    auto container = pop();
                    if (!index || !container) return std::nullopt;
                    push(*container + "[" + *index + "]");
                    break;
                }
                case TargetStep::Slice:
                case TargetStep::StoreSlice: {
                    std::string step;
                    if (s.arg == 3) {
                        auto value = pop();
                        if (!value) return std::nullopt;
                        step = ":" + *value;
                    }
                    auto end = pop();
                    auto start = pop();
                    auto container = pop();
                    if (!end || !start || !container) return std::nullopt;
                    push(*container + "[" + *start + ":" + *end + step + "]");
                    break;
                }
                case TargetStep::Unpack: {
                    if (s.arg > 64) return std::nullopt;
                    std::vector<std::string> items;
                    for (uint32_t i = 0; i < s.arg; ++i) {
                        auto item = one(nesting + 1);
                        if (!item) return std::nullopt;
                        items.push_back(std::move(*item));
                    }
                    push(format_tuple(items));
                    break;
                }
                case TargetStep::UnpackEx: {
                    const uint32_t before = s.arg & 0xFF, after = s.arg >> 8;
                    if (after > 64) return std::nullopt;
                    std::vector<std::string> items;
                    for (uint32_t i = 0; i < before + 1 + after; ++i) {
                        auto item = one(nesting + 1);
                        if (!item) return std::nullopt;
                        items.push_back(i == before ? "*" + *item : std::move(*item));
                    }
                    push(format_tuple(items));
                    break;
                }
                case TargetStep::Call: {
                    if (s.arg > stack.size() || s.arg > 64) return std::nullopt;
                    std::string args;
                    for (size_t i = stack.size() - s.arg; i < stack.size(); ++i)
                        args += (args.empty() ? "" : ", ") + stack[i];
                    stack.resize(stack.size() - s.arg);
                    auto function = pop();
                    if (!function) return std::nullopt;
                    push(*function + "(" + args + ")");
                    break;
                }
                case TargetStep::Dup:
                    if (stack.empty()) return std::nullopt;
                    push(stack.back());
                    break;
                case TargetStep::Skip: break;
                case TargetStep::Unknown: return std::nullopt;
            }
            if (too_long) return std::nullopt;
            const bool ends_target = s.kind == TargetStep::Store || s.kind == TargetStep::StoreAttr ||
                                     s.kind == TargetStep::StoreSubscr || s.kind == TargetStep::StoreSlice ||
                                     s.kind == TargetStep::Unpack || s.kind == TargetStep::UnpackEx;
            if (ends_target) {
                if (stack.size() != 1) return std::nullopt;  // e.g. a walrus
                return stack[0];
            }
        }
        return std::nullopt;
    }

private:
    std::vector<TargetStep> steps_;
    size_t at_ = 0;
};

}  // namespace

CodeWithBlocks::CodeWithBlocks(std::vector<Instruction> instructions, std::vector<ExceptionEntry> table,
                               const WithRules& rules, CodeSymbols& symbols)
    : instructions_(std::move(instructions)), table_(std::move(table)), rules_(rules) {
    if (instructions_.size() > kMaxInstructions) instructions_.resize(kMaxInstructions);
    find_blocks(symbols);
}

const WithBlockInfo* CodeWithBlocks::block_at(uint32_t handler) const {
    const auto it = block_index_.find(handler);
    return it == block_index_.end() ? nullptr : &blocks_[it->second];
}

std::optional<size_t> CodeWithBlocks::index_at(uint32_t unit) const {
    auto it = std::upper_bound(instructions_.begin(), instructions_.end(), unit,
                               [](uint32_t u, const Instruction& i) { return u < i.start; });
    if (it == instructions_.begin()) return std::nullopt;
    --it;
    if (unit >= it->next) return std::nullopt;
    return static_cast<size_t>(it - instructions_.begin());
}

std::optional<uint32_t> CodeWithBlocks::jump_target(const Instruction& instruction) const {
    const JumpKind kind = rules_.opcodes.jump[instruction.opcode];
    uint64_t target = 0;
    const uint64_t scale = rules_.opcodes.jumps_in_units ? 1 : 0;
    switch (kind) {
        case JumpKind::None: return std::nullopt;
        case JumpKind::Relative:
            target = scale ? uint64_t{instruction.next} + instruction.arg
                           : (uint64_t{instruction.next} * kCodeUnitSize + instruction.arg) / kCodeUnitSize;
            break;
        case JumpKind::Absolute: target = scale ? uint64_t{instruction.arg} : instruction.arg / kCodeUnitSize; break;
    }
    if (target > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(target);
}

std::optional<int> CodeWithBlocks::line_of(size_t index, CodeSymbols& symbols) const {
    // An instruction without a line of its own belongs to the last line before it.
    for (size_t steps = 0; steps < 64; ++steps) {
        if (auto line = symbols.line_at(instructions_[index].offset)) return line;
        if (index == 0) break;
        --index;
    }
    return std::nullopt;
}

void CodeWithBlocks::find_blocks(CodeSymbols& symbols) {
    const auto& ins = instructions_;
    auto op_at = [&](size_t i) { return i < ins.size() ? ins[i].op : Op::Other; };
    for (size_t i = 0; i < ins.size(); ++i) {
        const Op op = ins[i].op;
        WithBlockInfo block;
        size_t body = 0;
        if (rules_.source == WithBlockSource::BlockStack) {
            if (op != Op::SetupWith && op != Op::SetupAsyncWith) continue;
            const auto handler = jump_target(ins[i]);
            if (!handler) continue;
            block.handler = *handler;
            block.is_async = op == Op::SetupAsyncWith;
            body = i + 1;
        } else {
            size_t after = 0;
            if (op == Op::BeforeWith || op == Op::BeforeAsyncWith) {
                block.is_async = op == Op::BeforeAsyncWith;
                after = i + 1;
            } else if (op == Op::LoadSpecial && (static_cast<int>(ins[i].arg) == rules_.opcodes.load_special_enter ||
                                                 static_cast<int>(ins[i].arg) == rules_.opcodes.load_special_aenter)) {
                if (op_at(i + 1) != Op::Call) continue;
                block.is_async = static_cast<int>(ins[i].arg) == rules_.opcodes.load_special_aenter;
                after = i + 2;
            } else {
                continue;
            }
            if (block.is_async) {
                // Await __aenter__'s result: GET_AWAITABLE 1, LOAD_CONST None, SEND, YIELD_VALUE,
                // RESUME, JUMP_BACKWARD_NO_INTERRUPT, and from 3.12 CLEANUP_THROW, END_SEND.
                // 3.15 pushes a NULL and loads None as a common constant.
                if (op_at(after) == Op::GetAwaitable) ++after;
                if (op_at(after) == Op::PushNull) ++after;
                for (Op expected : {Op::LoadConst, Op::Send, Op::YieldValue, Op::Resume, Op::JumpBackwardNoInterrupt}) {
                    if (op_at(after) != expected &&
                        !(expected == Op::LoadConst && op_at(after) == Op::LoadCommonConstant))
                        break;
                    ++after;
                }
                if (op_at(after) == Op::CleanupThrow) ++after;
                if (op_at(after) == Op::EndSend) ++after;
            }
            if (op_at(after) == Op::Nop) ++after;  // a line-number anchor of a multi-line statement
            if (after >= ins.size()) continue;
            const auto entry = handler_for(table_, ins[after].start);
            if (!entry) continue;
            block.handler = entry->target;
            body = after;
        }
        if (block_at(block.handler)) continue;
        if (blocks_.size() == kMaxBlocks) break;
        block.target = describe_target(body, symbols);
        block.start_line = line_of(i, symbols);
        block_index_.emplace(block.handler, blocks_.size());
        blocks_.push_back(std::move(block));
    }
}

std::optional<std::string> CodeWithBlocks::describe_target(size_t first, CodeSymbols& symbols) const {
    if (first >= instructions_.size() || instructions_[first].op == Op::PopTop) return std::nullopt;
    std::vector<TargetStep> steps;
    const WithRules& r = rules_;
    for (size_t i = first; i < instructions_.size() && steps.size() < kMaxTargetSteps; ++i) {
        const Instruction& in = instructions_[i];
        const uint32_t a = in.arg;
        auto add = [&](TargetStep::Kind kind, std::optional<std::string> text = std::nullopt, uint32_t arg = 0) {
            steps.push_back({kind, std::move(text), arg});
        };
        switch (in.op) {
            case Op::LoadFast:
            case Op::LoadFastCheck:
            case Op::LoadFastBorrow: add(TargetStep::Load, symbols.local(a)); break;
            case Op::StoreFast: add(TargetStep::Store, symbols.local(a)); break;
            case Op::LoadFastLoadFast:
            case Op::LoadFastBorrowLoadFastBorrow:
                add(TargetStep::Load, symbols.local(a >> 4));
                add(TargetStep::Load, symbols.local(a & 15));
                break;
            case Op::StoreFastStoreFast:
                add(TargetStep::Store, symbols.local(a >> 4));
                add(TargetStep::Store, symbols.local(a & 15));
                break;
            case Op::StoreFastLoadFast:
                add(TargetStep::Store, symbols.local(a >> 4));
                add(TargetStep::Load, symbols.local(a & 15));
                break;
            case Op::LoadName:
            case Op::StoreName:
            case Op::StoreGlobal:
                add(in.op == Op::LoadName ? TargetStep::Load : TargetStep::Store, symbols.name(a));
                break;
            case Op::LoadGlobal: add(TargetStep::Load, symbols.name(a >> r.load_global_name_shift)); break;
            case Op::LoadDeref: add(TargetStep::Load, symbols.deref(a)); break;
            case Op::StoreDeref: add(TargetStep::Store, symbols.deref(a)); break;
            case Op::LoadAttr: add(TargetStep::Attr, symbols.name(a >> r.load_attr_name_shift)); break;
            case Op::LoadMethod: add(TargetStep::Attr, symbols.name(a)); break;
            case Op::StoreAttr: add(TargetStep::StoreAttr, symbols.name(a)); break;
            case Op::LoadConst: add(TargetStep::Const, symbols.const_repr(a)); break;
            case Op::LoadSmallInt: add(TargetStep::Const, std::to_string(a)); break;
            case Op::LoadCommonConstant:
                if (r.opcodes.common_constant_none >= 0 && a == static_cast<uint32_t>(r.opcodes.common_constant_none))
                    add(TargetStep::Const, "None");
                else add(TargetStep::Unknown);
                break;
            case Op::BinarySubscr: add(TargetStep::Subscr); break;
            case Op::BinaryOp:
                if (r.opcodes.binary_op_subscr >= 0 && a == static_cast<uint32_t>(r.opcodes.binary_op_subscr))
                    add(TargetStep::Subscr);
                else add(TargetStep::Unknown);
                break;
            case Op::StoreSubscr: add(TargetStep::StoreSubscr); break;
            case Op::BinarySlice: add(TargetStep::Slice, std::nullopt, 2); break;
            case Op::StoreSlice: add(TargetStep::StoreSlice, std::nullopt, 2); break;
            case Op::UnpackSequence: add(TargetStep::Unpack, std::nullopt, a); break;
            case Op::UnpackEx: add(TargetStep::UnpackEx, std::nullopt, a); break;
            case Op::CallFunction:
            case Op::CallMethod:
            case Op::Call: add(TargetStep::Call, std::nullopt, a); break;
            case Op::DupTop: add(TargetStep::Dup); break;
            case Op::Copy: add(a == 1 ? TargetStep::Dup : TargetStep::Unknown); break;
            case Op::Precall:
            case Op::PushNull:  // the NULL below a callable (3.11+): the call pops it with it
            case Op::Cache:
            case Op::ExtendedArg: add(TargetStep::Skip); break;
            default: add(TargetStep::Unknown); break;
        }
        if (steps.back().kind == TargetStep::Unknown) break;
    }
    return TargetDescriber(std::move(steps)).one(0);
}

std::vector<ActiveBlock> CodeWithBlocks::active_blocks(uint32_t unit) const {
    std::vector<ActiveBlock> active;
    std::unordered_set<uint32_t> seen;
    uint32_t at = unit;
    for (size_t step = 0; step < kMaxChain; ++step) {
        const auto entry = handler_for(table_, at);
        if (!entry || !seen.insert(entry->target).second) break;
        if (block_at(entry->target)) active.push_back({entry->target, entry->depth});
        at = entry->target;  // a handler's own code is protected by the enclosing handler
    }
    return active;
}

std::optional<ExitingBlock> CodeWithBlocks::exiting_at(uint32_t unit, CodeSymbols& symbols) {
    const auto found = index_at(unit);
    if (!found) return std::nullopt;
    const auto& ins = instructions_;
    size_t k = *found;
    auto op_at = [&](size_t i) { return i < ins.size() ? ins[i].op : Op::Other; };
    auto is_load_none = [&](size_t i) {
        if (op_at(i) == Op::LoadCommonConstant)
            return rules_.opcodes.common_constant_none >= 0 &&
                   ins[i].arg == static_cast<uint32_t>(rules_.opcodes.common_constant_none);
        return op_at(i) == Op::LoadConst && symbols.const_is_none(ins[i].arg);
    };
    // Step back one instruction; false at the start of the code.
    auto back = [&](size_t n = 1) {
        if (k < n) return false;
        k -= n;
        return true;
    };

    // A suspended generator of 3.13+ reports the RESUME after its YIELD_VALUE.
    if (op_at(k) == Op::Resume && k > 0 && op_at(k - 1) == Op::YieldValue) --k;
    bool is_async = false;
    if (rules_.source == WithBlockSource::BlockStack) {
        if (op_at(k) == Op::YieldFrom) {
            is_async = true;
            if (!back()) return std::nullopt;
        } else if (op_at(k + 1) == Op::YieldFrom) {
            is_async = true;
        }
    } else {
        if (op_at(k) == Op::YieldValue) {
            is_async = true;
            if (!back()) return std::nullopt;
        }
        if (op_at(k) == Op::Send) {
            is_async = true;
            if (!back()) return std::nullopt;
        } else if (is_async) {
            return std::nullopt;  // a yield that is not an await
        }
    }
    if (is_async) {
        if (!is_load_none(k) || !back()) return std::nullopt;
        if (op_at(k) == Op::PushNull && !back()) return std::nullopt;
        if (op_at(k) != Op::GetAwaitable) return std::nullopt;
        if (rules_.exit_await_oparg >= 0 && ins[k].arg != static_cast<uint32_t>(rules_.exit_await_oparg))
            return std::nullopt;  // an await of something else than __aexit__'s result
        if (!back()) return std::nullopt;
    }

    if (rules_.source == WithBlockSource::HandlerChain) {
        if (op_at(k) == Op::WithExceptStart) {
            if (!back() || op_at(k) != Op::PushExcInfo || !block_at(ins[k].start)) return std::nullopt;
            return ExitingBlock{ins[k].start, is_async};
        }
        if (op_at(k) != Op::Call || static_cast<int>(ins[k].arg) != rules_.exit_call_oparg || !back())
            return std::nullopt;
        if (op_at(k) == Op::Precall && !back()) return std::nullopt;
        for (int i = 0; i < 3; ++i) {
            if (!is_load_none(k)) return std::nullopt;
            if (i < 2 && !back()) return std::nullopt;
        }
        // k is the first LOAD_CONST None: the instruction before it ends the body the block's
        // handler covers, or a few SWAP or NOP come between. They move a returned value under
        // __exit__ and its self: one SWAP (3.11-3.13), two (3.14+).
        constexpr size_t kMaxStepsBetween = 3;
        for (size_t before = k, steps = 0; before > 0 && steps <= kMaxStepsBetween; --before, ++steps) {
            const uint32_t body_end = ins[before - 1].next;
            for (const ExceptionEntry& e : table_) {
                if (e.end == body_end && block_at(e.target)) return ExitingBlock{e.target, is_async};
            }
            if (op_at(before - 1) != Op::Swap && op_at(before - 1) != Op::Nop) break;
        }
        // A body that ends in a handler (try/except last in the block) falls through from code
        // that the block covers through the handler's own entries, not by an entry of its own:
        // the block is then the innermost one around that code and not around the exit.
        size_t last = k;
        for (size_t steps = 0; last > 0 && steps <= kMaxStepsBetween; ++steps) {
            --last;
            if (op_at(last) != Op::Swap && op_at(last) != Op::Nop) break;
        }
        if (last == k || !falls_through(ins[last].op)) return std::nullopt;
        const std::vector<ActiveBlock> around_exit = active_blocks(ins[k].start);
        for (const ActiveBlock& b : active_blocks(ins[last].start)) {
            const bool left = std::none_of(around_exit.begin(), around_exit.end(),
                                           [&](const ActiveBlock& a) { return a.handler == b.handler; });
            if (left) return ExitingBlock{b.handler, is_async};
        }
        return std::nullopt;
    }

    const bool cleanup_start_era = rules_.opcodes.op[ins[k].opcode] == Op::WithCleanupStart;
    if (cleanup_start_era) {
        // 3.8: every exit runs a WITH_CLEANUP_START. The one a block's handler names is that
        // block's however it is reached (also when the body always raises, which leaves the
        // POP_BLOCK before it unreachable); the ones inlined for return / break / continue
        // follow POP_BLOCK [ROT_TWO] BEGIN_FINALLY.
        if (block_at(ins[k].offset)) return ExitingBlock{ins[k].offset, is_async};
        if (k == 0 || op_at(k - 1) != Op::BeginFinally || !back(2)) return std::nullopt;
    } else {
        if (op_at(k) == Op::WithExceptStart) {
            if (!block_at(ins[k].offset)) return std::nullopt;
            return ExitingBlock{ins[k].offset, is_async};
        }
        // 3.9, 3.10: POP_BLOCK [ROT_TWO] LOAD_CONST None, DUP_TOP, DUP_TOP, CALL_FUNCTION 3.
        if (op_at(k) != Op::CallFunction || static_cast<int>(ins[k].arg) != rules_.exit_call_oparg || k < 4 ||
            op_at(k - 1) != Op::DupTop || op_at(k - 2) != Op::DupTop || !is_load_none(k - 3))
            return std::nullopt;
        k -= 4;
    }
    if (op_at(k) == Op::RotTwo && !back()) return std::nullopt;
    if (op_at(k) != Op::PopBlock) return std::nullopt;
    const auto handler = handler_popped_at(k);
    if (!handler || !block_at(*handler)) return std::nullopt;
    return ExitingBlock{*handler, is_async};
}

// Which block each POP_BLOCK pops, by walking the control flow from the start with the block
// stack each path builds (SETUP_FINALLY, SETUP_WITH, SETUP_ASYNC_WITH push their handler).
std::optional<uint32_t> CodeWithBlocks::handler_popped_at(size_t pop_block_index) {
    if (!popped_handlers_) {
        std::unordered_map<size_t, uint32_t> popped;
        std::deque<std::pair<size_t, std::vector<uint32_t>>> todo{{0, {}}};
        std::vector<bool> seen(instructions_.size(), false);
        while (!todo.empty()) {
            auto [index, blocks] = std::move(todo.front());
            todo.pop_front();
            if (index >= instructions_.size() || seen[index]) continue;
            seen[index] = true;
            const Instruction& in = instructions_[index];
            if (const auto target = jump_target(in)) {
                if (const auto target_index = index_at(*target))
                    todo.emplace_back(*target_index, blocks);  // a handler is entered with its block popped
                if (in.op == Op::SetupFinally || in.op == Op::SetupWith || in.op == Op::SetupAsyncWith) {
                    if (blocks.size() >= 64) continue;  // deeper than CO_MAXBLOCKS allows
                    blocks.push_back(*target);
                }
            }
            if (in.op == Op::PopBlock) {
                if (blocks.empty()) continue;
                popped.emplace(index, blocks.back());
                blocks.pop_back();
            }
            if (falls_through(in.op)) todo.emplace_back(index + 1, std::move(blocks));
        }
        popped_handlers_ = std::move(popped);
    }
    auto it = popped_handlers_->find(pop_block_index);
    if (it == popped_handlers_->end()) return std::nullopt;
    return it->second;
}

}  // namespace stackscope
