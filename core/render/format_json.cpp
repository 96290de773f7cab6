#include <nlohmann/json.hpp>
#include <variant>

#include "render/context_text.hpp"
#include "render/locals_text.hpp"
#include "render/native_text.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

namespace {

using Json = nlohmann::ordered_json;

template <typename T>
Json optional_json(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json frames_json(const Stack& stack, int depth);
Json error_detail_json(const ExtractionError& error);

// A stack inside a context (a @contextmanager's generator's, a child task's).
Json nested_stack_json(const Stack& s, int depth) {
    Json out{
        {"address", s.root.address ? Json(s.root.address) : Json(nullptr)},
        {"description", s.root.description.empty() ? Json(nullptr) : Json(s.root.description)},
        {"thread", s.root.thread_state
                       ? Json{{"tid", optional_json(s.root.thread_tid)}, {"thread_state", *s.root.thread_state}}
                       : Json(nullptr)},
        {"frames", frames_json(s, depth)},
        {"leaf", s.leaf ? Json{{"type", s.leaf->type}, {"repr", s.leaf->description}} : Json(nullptr)},
        {"error", s.error ? Json(s.error->message) : Json(nullptr)},
    };
    if (s.error) out["error_detail"] = error_detail_json(*s.error);
    return out;
}

Json context_json(const Context& c, int depth) {
    Json children = Json::array();
    if (depth < kMaxContextNesting) {
        for (const ContextChild& item : c.children) {
            if (const auto* child = std::get_if<Boxed<Context>>(&item))
                children.push_back(context_json(**child, depth + 1));
            else children.push_back(nested_stack_json(*std::get<Boxed<Stack>>(item), depth + 1));
        }
    }
    Json out{
        {"address", c.address ? Json(c.address) : Json(nullptr)},
        {"is_async", c.is_async},
        {"is_exiting", c.is_exiting},
        {"varname", optional_json(c.varname)},
        {"type", c.type_name.empty() ? Json(nullptr) : Json(c.type_name)},
        {"start_line", optional_json(c.start_line)},
        {"source", optional_json(c.source)},
        {"description", c.description},
        {"inner_stack",
         c.inner_stack && depth < kMaxContextNesting ? nested_stack_json(**c.inner_stack, depth + 1) : Json(nullptr)},
        {"children", std::move(children)},
        {"error", optional_json(c.error)},
    };
    if (c.lock_state) out["lock_state"] = *c.lock_state;
    return out;
}

Json locals_json(const std::optional<std::vector<Local>>& locals) {
    if (!locals) return nullptr;
    Json out = Json::array();
    for (const Local& local : *locals)
        out.push_back(Json{{"name", local.name}, {"kind", local_kind_name(local.kind)}, {"repr", local.repr}});
    return out;
}

Json frame_json(const Frame& f, int depth) {
    Json contexts = Json::array();
    for (const Context& c : f.contexts) contexts.push_back(context_json(c, depth));
    return Json{
        {"kind", "python"},
        {"function", f.function},
        {"name", f.name},
        {"module", optional_json(f.module)},
        {"filename", f.filename},
        {"line", optional_json(f.line)},
        {"hidden", f.hidden},
        {"entry", f.entry},
        {"source", optional_json(f.source)},
        {"contexts", std::move(contexts)},
        {"contexts_error", optional_json(f.contexts_error)},
        {"locals", locals_json(f.locals)},
        {"locals_error", optional_json(f.locals_error)},
    };
}

Json signal_json(const FatalSignal& s) {
    const std::string cause = signal_cause(s);
    return Json{
        {"tid", s.tid},
        {"signal", s.number},
        {"name", signal_name(s.number)},
        {"code", s.code},
        {"cause", cause.empty() ? Json(nullptr) : Json(cause)},
        {"address", optional_json(s.address)},
        {"sender_pid", optional_json(s.sender_pid)},
    };
}

Json process_json(const ProcessInfo& p) {
    return Json{
        {"pid", p.pid},
        {"parent_pid", optional_json(p.parent_pid)},
        {"uid", optional_json(p.uid)},
        {"command_line", p.command_line},
        {"executable", p.executable.empty() ? Json(nullptr) : Json(p.executable)},
        {"fatal_signal", p.fatal_signal ? signal_json(*p.fatal_signal) : Json(nullptr)},
    };
}

Json handling_json(const std::optional<HandledException>& handling) {
    if (!handling) return nullptr;
    return Json{{"type", handling->type}, {"message", optional_json(handling->message)}};
}

Json frames_json(const Stack& stack, int depth) {
    Json frames = Json::array();
    for (const Frame& f : stack.frames) frames.push_back(frame_json(f, depth));
    return frames;
}

Json error_detail_json(const ExtractionError& error) {
    return Json{{"kind", std::string(error_kind_name(error.kind))}, {"address", optional_json(error.address)}};
}

Json state_json(const std::optional<GeneratorState>& state) {
    if (!state) return nullptr;
    switch (*state) {
        case GeneratorState::Created: return "created";
        case GeneratorState::Suspended: return "suspended";
        case GeneratorState::Running: return "running";
        case GeneratorState::Finished: return "finished";
    }
    return nullptr;
}

Json object_json(const ObjectStack& o) {
    const Stack& s = o.stack;
    Json thread = nullptr;
    if (s.root.thread_state)
        thread = Json{{"tid", optional_json(s.root.thread_tid)}, {"thread_state", *s.root.thread_state}};
    Json out{
        {"address", o.address},
        {"type", optional_json(o.type)},
        {"description", s.root.description.empty() ? Json(nullptr) : Json(s.root.description)},
        {"thread", std::move(thread)},
        {"state", state_json(o.state)},
        {"frames", frames_json(s, 0)},
        {"leaf", s.leaf ? Json{{"type", s.leaf->type}, {"repr", s.leaf->description}} : Json(nullptr)},
        {"error", s.error ? Json(s.error->message) : Json(nullptr)},
    };
    if (s.error) out["error_detail"] = error_detail_json(*s.error);
    return out;
}

Json task_json(const Task& t) {
    const Stack& s = t.stack;
    Json awaited_by = Json::array();
    for (const TaskAwaiter& a : t.awaited_by) awaited_by.push_back(a.task);
    Json out{
        {"id", t.id},
        {"name", t.name},
        {"state", t.state == TaskState::Cancelling ? "cancelling" : "pending"},
        {"loop", t.loop},
        {"loop_thread", optional_json(t.loop_thread)},
        {"running", t.running},
        {"awaited_by", std::move(awaited_by)},
        {"cycle", t.cycle},
        {"description", s.root.description},
        {"frames", frames_json(s, 0)},
        {"leaf", s.leaf ? Json{{"type", s.leaf->type}, {"repr", s.leaf->description}} : Json(nullptr)},
        {"error", s.error ? Json(s.error->message) : Json(nullptr)},
    };
    if (s.error) out["error_detail"] = error_detail_json(*s.error);
    return out;
}

// A thread ({tid, thread_state}) or a task ({task}), and where: {filename, line, source}.
Json lock_site_json(const LockSite& site) {
    Json out = site.task ? Json{{"task", *site.task}, {"task_name", site.task_name}}
                         : Json{{"tid", optional_json(site.tid)}, {"thread_state", site.thread_state}};
    out["filename"] = site.filename.empty() ? Json(nullptr) : Json(site.filename);
    out["line"] = optional_json(site.line);
    out["source"] = optional_json(site.source);
    return out;
}

Json lock_json(const LockState& s) {
    Json holders = Json::array();
    for (const LockSite& h : s.holders) holders.push_back(lock_site_json(h));
    Json waiters = Json::array();
    for (const LockSite& w : s.waiters) waiters.push_back(lock_site_json(w));
    return Json{
        {"address", s.address},
        {"type", s.type},
        {"locked", optional_json(s.locked)},
        {"count", optional_json(s.count)},
        {"value", optional_json(s.value)},
        {"lock", s.lock ? Json(s.lock) : Json(nullptr)},
        {"holder", s.holders.size() == 1 ? holders[0] : Json(nullptr)},
        {"holders", std::move(holders)},
        {"waiters", std::move(waiters)},
    };
}

Json deadlock_json(const std::vector<DeadlockMember>& cycle) {
    Json out = Json::array();
    for (const DeadlockMember& m : cycle) {
        Json member = m.waits_at.task
                          ? Json{{"task", *m.waits_at.task}}
                          : Json{{"tid", optional_json(m.waits_at.tid)}, {"thread_state", m.waits_at.thread_state}};
        member["holds"] = m.holds;
        member["waits_for"] = m.waits_for;
        member["holds_filename"] = m.holds_at.filename.empty() ? Json(nullptr) : Json(m.holds_at.filename);
        member["holds_line"] = optional_json(m.holds_at.line);
        member["waits_filename"] = m.waits_at.filename.empty() ? Json(nullptr) : Json(m.waits_at.filename);
        member["waits_line"] = optional_json(m.waits_at.line);
        out.push_back(std::move(member));
    }
    return out;
}

Json native_frame_json(const NativeStackFrame& f) {
    return Json{
        {"kind", "native"},
        {"symbol", f.symbol.empty() ? Json(nullptr) : Json(f.symbol)},
        {"offset", f.symbol.empty() ? Json(nullptr) : Json(f.offset)},
        {"library", f.library.empty() ? Json(nullptr) : Json(f.library)},
        {"filename", optional_json(f.filename)},
        {"line", optional_json(f.line)},
        {"inlined", f.inlined},
    };
}

// The Python frames and the native frames shown, outermost first, as the tree places them.
Json frames_with_natives_json(const Thread& t, bool all) {
    const std::vector<NativeLine> lines = native_lines(t, all);
    std::vector<NativeFrame> natives;
    for (const NativeLine& line : lines) natives.push_back(line.frame);
    const auto calls = frames_by_eval_call(t.stack);
    const auto placed = place_eval_calls(natives, t.stack);
    Json out = placed ? Json::array() : frames_json(t.stack, 0);
    for (size_t i = lines.size(); i-- > 0;) {
        const bool runs_call = placed && (*placed)[i];
        if (!(placed && lines[i].replaced)) out.push_back(native_frame_json((*t.native)[i]));
        if (runs_call) {
            const auto& call = calls[*(*placed)[i]];
            for (auto f = call.rbegin(); f != call.rend(); ++f) out.push_back(frame_json(**f, 0));
        }
    }
    return out;
}

Json thread_json(const Thread& t, bool tasks_asked, bool all_natives) {
    Json frames = t.native ? frames_with_natives_json(t, all_natives) : frames_json(t.stack, 0);
    Json out{
        {"tid", optional_json(t.tid)},
        {"pthread_id", optional_json(t.pthread_id)},
        {"name", optional_json(t.name)},
        {"holds_gil", t.holds_gil},
        {"interpreter_id", optional_json(t.interpreter_id)},
        {"activity", optional_json(activity_name(t.activity))},
        {"syscall", optional_json(t.syscall)},
        {"in_gc", t.in_gc},
        {"finalizing", t.finalizing},
        {"handling", handling_json(t.handling)},
        {"error", t.stack.error ? Json(t.stack.error->message) : Json(nullptr)},
        {"frames", std::move(frames)},
    };
    if (t.stack.error) out["error_detail"] = error_detail_json(*t.stack.error);
    if (t.debugger_thread) out["debugger_thread"] = *t.debugger_thread;
    if (tasks_asked) out["running_task"] = optional_json(t.running_task);
    if (t.crash) out["crash"] = signal_json(*t.crash);
    if (t.native) out["native_error"] = optional_json(t.native_error);
    return out;
}

}  // namespace

std::optional<std::string> activity_name(ThreadActivity activity) {
    switch (activity) {
        case ThreadActivity::Unknown: break;
        case ThreadActivity::Running: return "running";
        case ThreadActivity::Idle: return "idle";
        case ThreadActivity::WaitingForGil: return "waiting_for_gil";
    }
    return std::nullopt;
}

std::string format_snapshot_json(const Snapshot& snapshot, int indent, bool all_natives) {
    Json threads = Json::array();
    for (const Thread& t : snapshot.threads) threads.push_back(thread_json(t, snapshot.tasks_asked, all_natives));
    Json doc{
        {"schema_version", 1},
        {"python_version", snapshot.python_version},
        {"debug_build", snapshot.debug_build},
        {"pid", snapshot.pid},
    };
    if (snapshot.process) doc["process"] = process_json(*snapshot.process);
    doc["threads"] = std::move(threads);
    if (snapshot.objects_asked) {
        Json objects = Json::array();
        for (const ObjectStack& o : snapshot.objects) objects.push_back(object_json(o));
        doc["objects"] = std::move(objects);
    }
    if (snapshot.tasks_asked) {
        Json tasks = Json::array();
        for (const Task& t : snapshot.tasks) tasks.push_back(task_json(t));
        doc["tasks"] = std::move(tasks);
        doc["tasks_error"] = snapshot.tasks_error ? Json(snapshot.tasks_error->message) : Json(nullptr);
    }
    if (snapshot.locks_asked) {
        Json locks = Json::array();
        for (const LockState& l : snapshot.locks) locks.push_back(lock_json(l));
        doc["locks"] = std::move(locks);
        Json deadlocks = Json::array();
        for (const auto& cycle : snapshot.deadlocks) deadlocks.push_back(deadlock_json(cycle));
        doc["deadlocks"] = std::move(deadlocks);
        Json unidentified = Json::array();
        for (const LockSite& w : snapshot.unidentified_waits) unidentified.push_back(lock_site_json(w));
        doc["unidentified_waits"] = std::move(unidentified);
    }
    // Remote strings may hold invalid UTF-8: replace rather than throw.
    return doc.dump(indent, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace stackscope
