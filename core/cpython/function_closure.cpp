#include "cpython/function_closure.hpp"

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {
constexpr size_t kMaxName = 1024;
}  // namespace

std::vector<ClosureVariable> closure_variables(ObjectReader& objects, uint64_t function, int64_t max_cells) {
    const PythonLayout& l = objects.layout();
    RemoteMemory& mem = objects.memory();
    const uint64_t closure = mem.read_pointer(function + static_cast<uint64_t>(l.func_closure));
    if (!closure) return {};
    const auto cells = mem.read_value<int64_t>(closure + static_cast<uint64_t>(l.var_size));
    if (cells < 0 || cells > max_cells) throw bad_data("a closure of " + std::to_string(cells) + " cells", function);
    // The free variables' names, in the closure's order: co_freevars, or (3.11+) the last
    // names of co_localsplusnames.
    const uint64_t code = mem.read_pointer(function + static_cast<uint64_t>(l.func_code));
    uint64_t names = 0;
    int64_t first = 0;
    switch (l.code_variables) {
        case CodeVariablesFormat::Separate:
            names = mem.read_pointer(code + static_cast<uint64_t>(l.code_freevars));
            break;
        case CodeVariablesFormat::LocalsPlus:
            names = mem.read_pointer(code + static_cast<uint64_t>(l.code_localsplusnames));
            const auto name_count = mem.read_value<int64_t>(names + static_cast<uint64_t>(l.var_size));
            if (name_count < cells) throw bad_data("a closure with more cells than its code has names", function);
            first = name_count - cells;
            break;
    }
    std::vector<ClosureVariable> out;
    for (int64_t i = 0; i < cells; ++i) {
        ClosureVariable v;
        v.name = objects.read_str(objects.tuple_item(names, static_cast<uint64_t>(first + i)), kMaxName);
        const uint64_t cell = objects.tuple_item(closure, static_cast<uint64_t>(i));
        v.value = mem.read_pointer(cell + static_cast<uint64_t>(l.cell_ref));
        out.push_back(std::move(v));
    }
    return out;
}

std::string function_name_of(ObjectReader& objects, uint64_t callable) {
    if (!objects.is_instance_or_named(callable, BuiltinType::Function, "function")) return "";
    return objects.read_str(objects.memory().read_pointer(callable + static_cast<uint64_t>(objects.layout().func_name)),
                            kMaxName);
}

}  // namespace stackscope
