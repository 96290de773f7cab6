#pragma once
// Reads generators, coroutines and async generators: where each is in its life, its frame,
// and what a suspended one awaits (CPython's _PyGen_yf), by the version's rules
// (python_layout.hpp), never by comparing versions.
#include <cstdint>
#include <optional>
#include <string>

#include "cpython/object_reader.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

enum class GeneratorKind { Generator, Coroutine, AsyncGenerator };

// type(obj).__name__ of each kind: "generator", "coroutine", "async_generator".
std::string_view generator_kind_name(GeneratorKind kind);

struct GeneratorInfo {
    GeneratorKind kind = GeneratorKind::Generator;
    GeneratorState state = GeneratorState::Finished;
    uint64_t frame = 0;     // its frame (embedded, or a PyFrameObject); 0 once finished
    uint64_t awaiting = 0;  // suspended in `yield from` / `await`: the object it waits on
    std::string qualname;   // __qualname__
};

class GeneratorReader {
public:
    explicit GeneratorReader(ObjectReader& objects) : objects_(objects), mem_(objects.memory()), l_(objects.layout()) {}

    // Which kind of generator `object` is exactly; nullopt when it is none. By the types'
    // addresses; where those were not learned (a core without its binaries), by the flags of
    // the code its embedded frame runs. Throws Error when the object is unreadable.
    std::optional<GeneratorKind> kind_of(uint64_t object);

    // Throws Error when the generator cannot be read.
    GeneratorInfo read(uint64_t generator, GeneratorKind kind);

    // gi_code / cr_code: the generator's code object, also once it has finished.
    uint64_t code_of(uint64_t generator);

private:
    std::optional<GeneratorKind> kind_by_code_flags(uint64_t object);
    GeneratorState state_of(uint64_t generator, uint64_t frame, int* raw_state);
    GeneratorState state_from_number(int state);
    uint64_t awaited_object(uint64_t frame, int raw_state);
    bool next_instruction_is_yield_from(uint64_t frame);
    bool resumes_after_yield_from(uint64_t frame);
    uint64_t awaited_stack_slot(uint64_t frame);

    ObjectReader& objects_;
    RemoteMemory& mem_;
    const PythonLayout& l_;
};

}  // namespace stackscope
