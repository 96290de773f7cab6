#pragma once
// repr() of objects in the target, rebuilt from memory without running any of its code, and
// bounded as reprlib.Repr bounds it: what descriptions, leaves, ExitStack callback arguments
// and --locals show.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpython/asyncio_repr.hpp"
#include "cpython/frame_reader.hpp"
#include "cpython/object_reader.hpp"

namespace stackscope {

// reprlib.Repr's limits (its attribute names without the underscore); the defaults are the
// ones the tool uses everywhere, so that a scenario can compute the expected text in-process
// with reprlib.Repr(maxlevel=3, maxstring=80, ...).
struct ReprBounds {
    int max_level = 3;
    size_t max_string = 80;
    size_t max_long = 80;
    size_t max_list = 6;
    size_t max_tuple = 6;
    size_t max_dict = 4;
    size_t max_set = 6;
    size_t max_frozenset = 6;
    size_t max_other = 80;
};

// reprlib.repr's own bounds (reprlib.aRepr), which asyncio uses for a Future's result.
inline constexpr ReprBounds kReprlibDefaults{6, 30, 40, 6, 6, 4, 6, 6, 30};

// Objects are mutable: nothing read about an object's contents is kept between calls.
class ObjectRepr {
public:
    ObjectRepr(ObjectReader& objects, FrameReader& frames, AsyncioFutures& futures, ReprBounds bounds = {})
        : objects_(objects), frames_(frames), futures_(futures), asyncio_(objects, frames, futures), bounds_(bounds) {}

    // reprlib.Repr(bounds).repr(object) as the target's interpreter would print it; a class-level
    // __repr__ written in Python is not run (the object shows as object.__repr__ does).
    // `<unreadable 0x...>` for memory that cannot be read. Throws only Error(Internal).
    std::string repr(uint64_t object);

    // repr(object) of an object AsyncioFutures reads as a Future or Task (a task's leaf): the
    // same text, without the detour through UTF-32 when Future.__repr__ gives short ASCII, as
    // nearly every one does.
    std::string repr_of_future(uint64_t object);

    // How upstream stackscope names a callable (its format_funcname): `repr(self).name` for a
    // bound method, `module.qualname` for anything with both, else repr(callable).
    std::string function_name(uint64_t callable);

    // repr() of a Future or Task with the parts asked for; nullopt when `object` is neither.
    // Throws Error when it is one that cannot be read.
    std::optional<std::string> future_repr(uint64_t object, AsyncioRepr::Parts parts);

    // What repr() reads of one object at most: characters of a str, items of a container.
    static constexpr size_t kMaxFullRepr = 64 * 1024;  // characters of a builtins.repr() text
    static constexpr size_t kMaxSortedItems = 4096;    // set and dict items sorted as reprlib sorts them

    // The kinds of object whose repr is rebuilt (the rest show as object.__repr__).
    enum class Kind {
        None,
        Bool,
        Int,
        Float,
        Str,
        Bytes,
        Tuple,
        List,
        Dict,
        Set,
        FrozenSet,
        Function,
        Method,
        BuiltinFunction,
        Class,
        Module,
        Exception,
        Lock,
        RLock,
        Generator,  // a generator, coroutine or async generator
        Future,
        Other,
    };

private:
    using Text = std::u32string;
    using Failed = ReprRaises;  // builtins.repr() would raise
    struct TooManyVisits {};    // the outermost repr visited kMaxVisits objects: it shows as one that raised

    // A repr run inside one of `outer`'s (reprlib.repr() of a Future's result or of a callback's
    // argument): its builtins.repr() calls start at `depth`, so that a chain of Futures, each
    // holding the next, stays within kMaxFullDepth, and a Future shown by `outer` is known.
    ObjectRepr(ObjectRepr& outer, ReprBounds bounds, int depth)
        : objects_(outer.objects_),
          frames_(outer.frames_),
          futures_(outer.futures_),
          asyncio_(outer.objects_, outer.frames_, outer.futures_, outer.asyncio_),
          bounds_(bounds),
          base_depth_(depth),
          outermost_(outer.outermost_ ? outer.outermost_ : &outer) {}

    Kind kind_of(uint64_t object);
    Kind kind_of_type(uint64_t type);
    // The builtin whose repr an instance of `type` gets from builtins.repr(): a Python subclass
    // of a builtin that defines no __repr__ of its own (class Config(dict)) is shown as the
    // builtin is. Kind::Other for any other type.
    Kind inherited_kind(uint64_t type);
    AsyncioRepr::ValueReprs future_values(int depth);
    bool is_exactly(uint64_t type, BuiltinType builtin);

    // reprlib.Repr.repr1 at `level`.
    Text bounded(uint64_t object, int level);
    Text bounded_str(uint64_t object);
    Text bounded_int(uint64_t object);
    Text bounded_sequence(uint64_t object, Kind kind, int level);
    Text bounded_set(uint64_t object, Kind kind, int level);
    Text bounded_dict(uint64_t object, int level);
    // reprlib's repr_instance: builtins.repr() cut to max_other.
    Text instance(uint64_t object);
    // reprlib's repr_instance of an object whose builtins.repr() raises.
    Text raised_text(uint64_t object);
    // Counts an object visited against kMaxVisits (the outermost repr's count).
    void visit();
    // builtins.repr(object), appended to `out` up to kMaxFullRepr characters; throws Failed.
    void full(uint64_t object, Text& out, int depth);
    void full_container(uint64_t object, Kind kind, Text& out, int depth);
    // The texts of the objects reprs other than containers' (object_repr_named.cpp).
    void full_named(uint64_t object, Kind kind, Text& out, int depth);
    Text function_text(uint64_t function);
    Text builtin_function_text(uint64_t function);
    Text class_text(uint64_t type);
    Text module_text(uint64_t module);
    Text lock_text(uint64_t lock, Kind kind);
    // BaseExceptionGroup_repr where the build has one; false to use BaseException's.
    bool exception_group_text(uint64_t group, Text& out, int depth);

    struct StrParts {
        uint64_t length = 0;
        Text head;  // the first characters asked for
        Text tail;  // the last ones asked for (empty when the head holds them)
    };
    StrParts read_str(uint64_t object, size_t head, size_t tail);
    Text str_text(uint64_t object, size_t max_chars);
    std::optional<Text> str_if_str(uint64_t object);
    // The decimal text of an int (with its sign), or nullopt with `digit_count` set when it
    // has more digits than the interpreter's limit.
    std::optional<std::string> int_text(uint64_t object, uint64_t* digit_count);
    int64_t item_count(uint64_t object, Kind kind);
    std::vector<uint64_t> sequence_items(uint64_t object, Kind kind, size_t max);
    std::vector<uint64_t> set_items(uint64_t object, size_t max);
    std::vector<uint64_t> possibly_sorted(std::vector<uint64_t> items);
    Text module_of_class(uint64_t type);
    Text qualname_of_class(uint64_t type);

    ObjectReader& objects_;
    FrameReader& frames_;
    AsyncioFutures& futures_;
    AsyncioRepr asyncio_;
    ReprBounds bounds_;
    int base_depth_ = 0;                                  // the depth its builtins.repr() calls start at
    ObjectRepr* outermost_ = nullptr;                     // the repr this one runs inside; null for the outermost
    size_t visits_ = 0;                                   // the outermost's: objects visited by this repr()
    std::vector<uint64_t> in_progress_;                   // the containers builtins.repr() is inside (Py_ReprEnter)
    std::unordered_map<uint64_t, Kind> kinds_;            // by type address
    std::unordered_map<uint64_t, Kind> inherited_kinds_;  // by type address
};

}  // namespace stackscope
