#pragma once
// The stacks of objects asked for by address (`--object`), as upstream's
// `stackscope.extract(obj)` gives them: a generator, coroutine or async generator and the
// chain of what it awaits, down to the leaf; a Task's coroutine; a Future as the leaf; a
// threading.Thread's stack.
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/id_index.hpp"
#include "cpython/asyncio_futures.hpp"
#include "cpython/generator_reader.hpp"
#include "extract/extraction.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

class ObjectStackReader {
public:
    // `threads`: the snapshot's, read first: a running generator's frames and a Thread's stack
    // are theirs.
    // What the stacks are for: --object (as upstream's extract() shows them), or a task tree,
    // whose headers leave out what the leaf shows (the Task's repr without wait_for= and cb=)
    // and whose chains end at a pure-Python Future (not in its __await__ generator), as they
    // end at a C one and as asyncio's own tools show them.
    enum class Purpose { Objects, Tasks };
    // Whether the await chains of different roots may share generators: those of --object may
    // (one object asked for can await another), those of tasks and of context managers cannot
    // (each generator has one awaiter), and a chain that would is refused: else any number of
    // roots could each copy one long chain.
    enum class Chains { MayShare, Exclusive };
    ObjectStackReader(Extraction& x, const std::vector<Thread>& threads, Purpose purpose = Purpose::Objects,
                      Chains chains = Chains::MayShare)
        : x_(x),
          objects_(x.objects()),
          generators_(x.objects()),
          futures_(x.futures()),
          threads_(threads),
          purpose_(purpose),
          chains_(purpose == Purpose::Tasks ? Chains::Exclusive : chains) {}

    // Never throws for a bad object: the ObjectStack says what went wrong.
    ObjectStack read(uint64_t address);

private:
    void read_root(uint64_t address, ObjectStack& out);
    bool read_thread_object(uint64_t address, ObjectStack& out);
    // Follows the await chain from `object` onto out.stack; throws Error at a broken link.
    // `record_state`: out.state is the first generator's.
    void follow(uint64_t object, ObjectStack& out, bool record_state);
    bool is_wrapper(uint64_t object);
    enum class WrapperType { Yes, No, IfWrapsGenerator };
    WrapperType wrapper_type(uint64_t type);
    std::optional<uint64_t> future_awaited_by(const GeneratorInfo& info);
    const FutureInfo* future_iterated_by(uint64_t object);
    void attach_running_frames(uint64_t frame, ObjectStack& out);
    void set_leaf(uint64_t object, ObjectStack& out);
    // With Chains::Exclusive: throws when `generator` is on the chain of a root other than `root`.
    void claim(uint64_t generator, uint64_t root);

    Extraction& x_;
    ObjectReader& objects_;
    GeneratorReader generators_;
    AsyncioFutures& futures_;
    const std::vector<Thread>& threads_;
    Purpose purpose_;
    Chains chains_;
    IdIndex chain_owners_;  // each generator followed -> its root, in chain_roots_
    std::vector<uint64_t> chain_roots_;
    std::unordered_map<uint64_t, bool> future_iterator_types_;  // whether each type met is FutureIter's shape
    std::unordered_map<uint64_t, WrapperType> wrapper_types_;   // what each type met says of its objects
};

}  // namespace stackscope
