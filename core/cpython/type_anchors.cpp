#include "cpython/type_anchors.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "stackscope/error.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxInterpreters = 64;
constexpr size_t kMaxThreads = 256;
constexpr size_t kFramesPerThread = 8;

struct CodeTypes {
    uint64_t code = 0, str = 0, bytes = 0, tuple = 0;
};

// A builtin type: not a heap type, and an instance of `metatype`.
bool is_static_type(ObjectReader& objects, uint64_t type, uint64_t metatype) {
    const PythonLayout& l = objects.layout();
    if (type == 0 || type % 8 != 0 || objects.type_of(type) != metatype) return false;
    return (objects.memory().read_value<uint64_t>(type + l.type_flags) & l.type_flag_heap_type) == 0;
}

// The types of a code object and of its fields, when they are consistent with it being one.
std::optional<CodeTypes> types_around_code(ObjectReader& objects, uint64_t code) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    try {
        CodeTypes t;
        t.code = objects.type_of(code);
        const uint64_t metatype = objects.type_of(t.code);
        if (objects.type_of(metatype) != metatype) return std::nullopt;  // `type` is its own type
        t.str = objects.type_of(mem.read_pointer(code + l.code_name));
        if (objects.type_of(mem.read_pointer(code + l.code_filename)) != t.str) return std::nullopt;
        if (l.function_name == FunctionNameSource::CodeQualname &&
            objects.type_of(mem.read_pointer(code + l.code_qualname)) != t.str) {
            return std::nullopt;
        }
        t.bytes = objects.type_of(mem.read_pointer(code + l.code_linetable));
        const Offset names =
            l.code_variables == CodeVariablesFormat::LocalsPlus ? l.code_localsplusnames : l.code_varnames;
        t.tuple = objects.type_of(mem.read_pointer(code + names));
        const std::set<uint64_t> distinct{t.code, t.str, t.bytes, t.tuple, metatype};
        if (distinct.size() != 5) return std::nullopt;
        for (const uint64_t type : {t.code, t.str, t.bytes, t.tuple}) {
            if (!is_static_type(objects, type, metatype)) return std::nullopt;
        }
        return t;
    } catch (const Error&) {
        return std::nullopt;
    }
}

// Code-reference types of the frames of every thread, by how many frames have them, with
// one code reference of each.
std::map<uint64_t, std::pair<size_t, uint64_t>> code_type_votes(ObjectReader& objects, ThreadStackWalker& walker,
                                                                uint64_t runtime) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    std::map<uint64_t, std::pair<size_t, uint64_t>> votes;
    std::unordered_set<uint64_t> seen;
    try {
        for (uint64_t interp = mem.read_pointer(runtime + l.runtime_interpreters_head);
             interp != 0 && seen.size() < kMaxInterpreters; interp = mem.read_pointer(interp + l.interp_next)) {
            if (!seen.insert(interp).second) break;
            size_t threads = 0;
            for (uint64_t tstate = mem.read_pointer(interp + l.interp_threads_head);
                 tstate != 0 && threads < kMaxThreads; tstate = mem.read_pointer(tstate + l.tstate_next), ++threads) {
                for (const uint64_t code : walker.newest_code_references(tstate, kFramesPerThread)) {
                    try {
                        auto& vote = votes[objects.type_of(code)];
                        if (vote.first++ == 0) vote.second = code;
                    } catch (const Error&) {
                        // not an object: no vote
                    }
                }
            }
        }
    } catch (const Error&) {
        // the votes counted so far stand
    }
    return votes;
}

void learn_if_unknown(BuiltinTypes& types, BuiltinType type, uint64_t address) {
    if (!types.known(type)) types.set(type, address);
}

void learn_from_sys(ObjectReader& objects, BuiltinTypes& types, uint64_t runtime, const CodeTypes& known) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    try {
        const uint64_t metatype = objects.type_of(known.code);
        const uint64_t interp = mem.read_pointer(runtime + l.runtime_interpreters_head);
        const uint64_t sysdict = mem.read_pointer(interp + l.interp_sysdict);
        const uint64_t dict = objects.type_of(sysdict);
        if (!is_static_type(objects, dict, metatype) || dict == known.str || dict == known.bytes ||
            dict == known.tuple || dict == known.code) {
            return;
        }
        learn_if_unknown(types, BuiltinType::Dict, dict);
        // Types already known cannot be another one.
        const std::set<uint64_t> taken{dict, known.str, known.bytes, known.tuple, known.code, metatype};
        if (const auto hexversion = objects.dict_get(sysdict, "hexversion")) {
            const uint64_t integer = objects.type_of(*hexversion);
            if (is_static_type(objects, integer, metatype) && !taken.count(integer))
                learn_if_unknown(types, BuiltinType::Int, integer);
        }
        const uint64_t modules = mem.read_pointer(interp + l.interp_modules);
        if (const auto sys = modules ? objects.dict_get(modules, "sys") : std::nullopt) {
            const uint64_t module = objects.type_of(*sys);
            if (is_static_type(objects, module, metatype) && !taken.count(module))
                learn_if_unknown(types, BuiltinType::Module, module);
        }
    } catch (const Error&) {
        // what is not learned stays unknown
    }
}

bool code_types_known(const BuiltinTypes& types) {
    for (const BuiltinType t :
         {BuiltinType::Code, BuiltinType::Str, BuiltinType::Bytes, BuiltinType::Tuple, BuiltinType::Type}) {
        if (!types.known(t)) return false;
    }
    return true;
}

}  // namespace

void learn_builtin_types(ObjectReader& objects, BuiltinTypes& types, ThreadStackWalker& walker,
                         const PythonRuntime& runtime) {
    resolve_builtin_types_by_symbol(types, objects.memory().target(), runtime.file.get(), runtime.load_bias);
    const PythonLayout& l = runtime.layout;
    try {
        const uint64_t interp = objects.memory().read_pointer(runtime.address + l.runtime_interpreters_head);
        if (interp) objects.set_modules_dict(objects.memory().read_pointer(interp + l.interp_modules));
    } catch (const Error&) {
        // static types whose names are unreadable stay nameless
    }
    if (code_types_known(types) && types.known(BuiltinType::Dict) && types.known(BuiltinType::Int) &&
        types.known(BuiltinType::Module)) {
        return;
    }
    auto votes = code_type_votes(objects, walker, runtime.address);
    std::vector<std::pair<size_t, uint64_t>> by_votes;  // (votes, sample code)
    for (const auto& [type, vote] : votes) by_votes.push_back(vote);
    std::sort(by_votes.rbegin(), by_votes.rend());
    for (const auto& [count, code] : by_votes) {
        const auto found = types_around_code(objects, code);
        if (!found) continue;
        learn_if_unknown(types, BuiltinType::Code, found->code);
        learn_if_unknown(types, BuiltinType::Str, found->str);
        learn_if_unknown(types, BuiltinType::Bytes, found->bytes);
        learn_if_unknown(types, BuiltinType::Tuple, found->tuple);
        learn_if_unknown(types, BuiltinType::Type, objects.type_of(found->code));
        learn_from_sys(objects, types, runtime.address, *found);
        return;
    }
}

}  // namespace stackscope
