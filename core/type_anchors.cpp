#include "type_anchors.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "error.hpp"

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
        if (l.code_qualname != kAbsent && objects.type_of(mem.read_pointer(code + l.code_qualname)) != t.str) return std::nullopt;
        t.bytes = objects.type_of(mem.read_pointer(code + l.code_linetable));
        const Offset names = l.code_localsplusnames != kAbsent ? l.code_localsplusnames : l.code_varnames;
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
std::map<uint64_t, std::pair<size_t, uint64_t>> code_type_votes(ObjectReader& objects, FrameWalker& walker, uint64_t runtime) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    std::map<uint64_t, std::pair<size_t, uint64_t>> votes;
    std::unordered_set<uint64_t> seen;
    try {
        for (uint64_t interp = mem.read_pointer(runtime + l.runtime_interpreters_head); interp != 0 && seen.size() < kMaxInterpreters;
             interp = mem.read_pointer(interp + l.interp_next)) {
            if (!seen.insert(interp).second) break;
            size_t threads = 0;
            for (uint64_t tstate = mem.read_pointer(interp + l.interp_threads_head); tstate != 0 && threads < kMaxThreads;
                 tstate = mem.read_pointer(tstate + l.tstate_next), ++threads) {
                for (const uint64_t code : walker.frame_executables(tstate, kFramesPerThread)) {
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

void learn_from_sys(ObjectReader& objects, uint64_t runtime, const CodeTypes& known) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    if (l.interp_sysdict == kAbsent) return;
    try {
        const uint64_t metatype = objects.type_of(known.code);
        const uint64_t sysdict = mem.read_pointer(mem.read_pointer(runtime + l.runtime_interpreters_head) + l.interp_sysdict);
        const uint64_t dict = objects.type_of(sysdict);
        if (!is_static_type(objects, dict, metatype) || dict == known.str || dict == known.bytes || dict == known.tuple ||
            dict == known.code) {
            return;
        }
        objects.set_known_type("dict", dict);
        const auto hexversion = objects.dict_get(sysdict, "hexversion");
        if (!hexversion) return;
        const uint64_t integer = objects.type_of(*hexversion);
        if (!is_static_type(objects, integer, metatype) || integer == dict || integer == known.str) return;
        objects.set_known_type("int", integer);
    } catch (const Error&) {
        // dict and int stay checked by name
    }
}

}  // namespace

void learn_builtin_types(ObjectReader& objects, FrameWalker& walker, uint64_t runtime) {
    auto votes = code_type_votes(objects, walker, runtime);
    std::vector<std::pair<size_t, uint64_t>> by_votes;  // (votes, sample code)
    for (const auto& [type, vote] : votes) by_votes.push_back(vote);
    std::sort(by_votes.rbegin(), by_votes.rend());
    for (const auto& [count, code] : by_votes) {
        const auto types = types_around_code(objects, code);
        if (!types) continue;
        objects.set_known_type("code", types->code);
        objects.set_known_type("str", types->str);
        objects.set_known_type("bytes", types->bytes);
        objects.set_known_type("tuple", types->tuple);
        learn_from_sys(objects, runtime, *types);
        return;
    }
}

}  // namespace stackscope
