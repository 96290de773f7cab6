#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "render/locks_text.hpp"
#include "stackscope/debugger.hpp"
#include "stackscope/formatters.hpp"

using namespace stackscope;

namespace {

Thread named_thread(int tid, uint64_t state, const std::string& name) {
    Thread t;
    t.tid = tid;
    t.thread_state = state;
    t.name = name;
    return t;
}

LockState lock(uint64_t address, const std::string& type, std::optional<int64_t> count = std::nullopt) {
    LockState s;
    s.address = address;
    s.type = type;
    s.locked = true;
    s.count = count;
    return s;
}

LockSite at(int tid, uint64_t state, int line, std::string source = {}) {
    LockSite s;
    s.tid = tid;
    s.thread_state = state;
    s.filename = "/srv/app.py";
    s.line = line;
    if (!source.empty()) s.source = source;
    return s;
}

// Two threads, each holding the lock the other waits for; an RLock owned outside any `with`.
Snapshot deadlocked() {
    Snapshot snap;
    snap.locks_asked = true;
    snap.threads = {named_thread(11, 0x100, "w1"), named_thread(12, 0x200, "w2")};
    LockState a = lock(0xa0, "lock");
    a.holders = {at(11, 0x100, 6, "with a:")};
    a.waiters = {at(12, 0x200, 13, "with a:")};
    LockState b = lock(0xc0, "lock");
    b.holders = {at(12, 0x200, 11, "with b:")};
    b.waiters = {at(11, 0x100, 8, "with b:")};
    LockState r = lock(0xe0, "RLock", 2);
    LockSite owner;
    owner.tid = 12;
    owner.thread_state = 0x200;
    r.holders = {owner};
    snap.locks = {a, b, r};
    snap.deadlocks = {{DeadlockMember{a.holders[0], b.waiters[0], 0xa0, 0xc0},
                       DeadlockMember{b.holders[0], a.waiters[0], 0xc0, 0xa0}}};
    snap.unidentified_waits = {at(13, 0x300, 51)};
    return snap;
}

}  // namespace

TEST_CASE("locks text: each deadlock's members, each lock's holders and waiters, the unidentified waits", "[locks]") {
    const std::string text = locks_text(deadlocked(), false);
    CHECK(text ==
          "\nDeadlock: 2 threads\n"
          "  thread 11 \"w1\" holds lock 0xa0 (with a: at /srv/app.py:6) and waits for lock 0xc0 (with b: at "
          "/srv/app.py:8)\n"
          "  thread 12 \"w2\" holds lock 0xc0 (with b: at /srv/app.py:11) and waits for lock 0xa0 (with a: at "
          "/srv/app.py:13)\n"
          "\nLocks:\n"
          "  lock 0xa0 (locked) held by thread 11 \"w1\" (with a: at /srv/app.py:6); waiting for it: thread 12 \"w2\" "
          "(with a: at /srv/app.py:13)\n"
          "  lock 0xc0 (locked) held by thread 12 \"w2\" (with b: at /srv/app.py:11); waiting for it: thread 11 \"w1\" "
          "(with b: at /srv/app.py:8)\n"
          "  RLock 0xe0 (locked, count 2) held by thread 12 \"w2\"\n"
          "  thread 13 waits on an unidentified lock (at /srv/app.py:51)\n");
}

TEST_CASE("locks text: nothing without --locks, and 'none' when no lock is held or waited for", "[locks]") {
    Snapshot snap;
    CHECK(locks_text(snap, false).empty());
    snap.locks_asked = true;
    CHECK(locks_text(snap, false) == "\nLocks: none held or waited for\n");
}

TEST_CASE("locks JSON: locks with holder and holders, deadlocks as member lists, unidentified waits", "[locks]") {
    const auto doc = nlohmann::json::parse(format_snapshot_json(deadlocked()));
    REQUIRE(doc["locks"].size() == 3);
    CHECK(doc["locks"][0]["holder"]["tid"] == 11);
    CHECK(doc["locks"][0]["waiters"][0]["line"] == 13);
    CHECK(doc["locks"][2]["count"] == 2);
    CHECK(doc["locks"][2]["holder"]["filename"].is_null());
    REQUIRE(doc["deadlocks"].size() == 1);
    const auto& first = doc["deadlocks"][0][0];
    CHECK(first["tid"] == 11);
    CHECK(first["holds"] == 0xa0);
    CHECK(first["waits_for"] == 0xc0);
    CHECK(first["holds_line"] == 6);
    CHECK(first["waits_line"] == 8);
    CHECK(doc["unidentified_waits"][0]["tid"] == 13);
    CHECK(!nlohmann::json::parse(format_snapshot_json(Snapshot{})).contains("locks"));
}

TEST_CASE("without_locks drops the locks and the contexts' lock states", "[locks]") {
    Snapshot snap = deadlocked();
    Frame f;
    Context c;
    c.lock_state = "locked";
    f.contexts.push_back(c);
    snap.threads[0].stack.frames.push_back(f);
    const Snapshot plain = without_locks(snap);
    CHECK(!plain.locks_asked);
    CHECK(plain.locks.empty());
    CHECK(plain.deadlocks.empty());
    CHECK(!plain.threads[0].stack.frames[0].contexts[0].lock_state);
    CHECK(format_debugger_locks(plain, false).empty());
}
