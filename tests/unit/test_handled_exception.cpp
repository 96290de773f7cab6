#include <catch2/catch.hpp>

#include "cpython/handled_exception.hpp"
#include "cpython/object_reader.hpp"
#include "target/remote_memory.hpp"
#include "synthetic_memory.hpp"

using namespace stackscope;
using stackscope_test::ObjectBuilder;
using stackscope_test::SyntheticTarget;

namespace {

struct World {
    PythonLayout layout;
    SyntheticTarget target;
    ObjectBuilder b;
    uint64_t none = 0, str_type = 0, tuple_type = 0, value_error = 0, tstate = 0;

    explicit World(int minor) : layout(*layout_for(3, minor)), b(target, layout) {
        const uint64_t none_type = b.type("NoneType");
        none = b.alloc(16);
        target.put_u64(none + layout.object_type, none_type);
        str_type = b.type("str");
        tuple_type = b.type("tuple");
        value_error = b.type("ValueError");
        target.put<uint64_t>(value_error + layout.type_flags, layout.type_flag_base_exc_subclass);
        const uint64_t metatype = b.type("type");
        target.put<uint64_t>(metatype + layout.type_flags, layout.type_flag_type_subclass);
        target.put_u64(value_error + layout.object_type, metatype);
        tstate = b.alloc(512);
    }

    uint64_t tuple(std::vector<uint64_t> items) {
        const uint64_t at = b.alloc(static_cast<size_t>(layout.tuple_items) + 8 * items.size() + 8);
        target.put_u64(at + layout.object_type, tuple_type);
        target.put<int64_t>(at + layout.var_size, static_cast<int64_t>(items.size()));
        for (size_t i = 0; i < items.size(); ++i) target.put_u64(at + layout.tuple_items + 8 * i, items[i]);
        return at;
    }

    uint64_t exception(uint64_t args) {
        const uint64_t at = b.alloc(64);
        target.put_u64(at + layout.object_type, value_error);
        target.put_u64(at + layout.exception_args, args);
        return at;
    }

    // An exc_info entry; `type` only where the version keeps one.
    uint64_t item(uint64_t value, uint64_t previous, uint64_t type = 0) {
        const uint64_t at = b.alloc(32);
        target.put_u64(at + layout.err_item_value, value);
        target.put_u64(at + layout.err_item_previous, previous);
        if (layout.err_item_type != kAbsent) target.put_u64(at + layout.err_item_type, type);
        return at;
    }

    std::optional<HandledException> handled(uint64_t exc_info) {
        target.put_u64(tstate + layout.tstate_exc_info, exc_info);
        RemoteMemory mem(target);
        BuiltinTypes types;
        resolve_builtin_types_by_symbol(types, target, nullptr, 0);
        ObjectReader objects(mem, layout, types);
        return read_handled_exception(objects, tstate);
    }
};

}  // namespace

TEST_CASE("the handled exception is the first one down the exc_info chain", "[exception]") {
    World w(12);
    const uint64_t boom = w.exception(w.tuple({w.b.str(w.str_type, "boom")}));
    // A generator's own entry (nothing handled there), then its caller's `except` block.
    const auto got = w.handled(w.item(w.none, w.item(boom, w.item(0, 0))));
    REQUIRE(got);
    CHECK(got->type == "ValueError");
    CHECK(got->message == "boom");
    CHECK_FALSE(w.handled(w.item(0, w.item(w.none, 0))));  // nothing handled anywhere
    CHECK_FALSE(w.handled(0));
}

TEST_CASE("exception messages: only a single str argument, bounded", "[exception]") {
    World w(12);
    CHECK(w.handled(w.item(w.exception(w.tuple({})), 0))->message == "");
    CHECK_FALSE(w.handled(w.item(w.exception(w.tuple({w.none, w.none})), 0))->message);
    CHECK_FALSE(w.handled(w.item(w.exception(w.tuple({w.none})), 0))->message);
    CHECK_FALSE(w.handled(w.item(w.exception(0), 0))->message);
    const auto long_message = w.handled(w.item(w.exception(w.tuple({w.b.str(w.str_type, std::string(500, 'x'))})), 0));
    CHECK(long_message->message == std::string(200, 'x') + "...");
    // An unreadable args tuple still leaves the type.
    const auto broken = w.handled(w.item(w.exception(0xdead0000), 0));
    REQUIRE(broken);
    CHECK(broken->type == "ValueError");
    CHECK_FALSE(broken->message);
}

TEST_CASE("broken exc_info chains end the search without an exception", "[exception]") {
    World w(12);
    const uint64_t looping = w.item(w.none, 0);
    w.target.put_u64(looping + w.layout.err_item_previous, looping);
    CHECK_FALSE(w.handled(looping));
    CHECK_FALSE(w.handled(w.item(w.none, 0xdead0000)));
    CHECK_FALSE(w.handled(0xdead0000));
}

TEST_CASE("3.8-3.10 entries keep the type, and a bare type is enough", "[exception]") {
    World w(9);
    REQUIRE(w.layout.err_item_type != kAbsent);
    const auto got = w.handled(w.item(0, 0, w.value_error));
    REQUIRE(got);
    CHECK(got->type == "ValueError");
    CHECK_FALSE(got->message);
    const uint64_t boom = w.exception(w.tuple({w.b.str(w.str_type, "boom")}));
    CHECK(w.handled(w.item(w.none, w.item(boom, 0, w.value_error), w.none))->message == "boom");
}
