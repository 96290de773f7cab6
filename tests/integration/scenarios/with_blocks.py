"""Scenario: active `with` / `async with` blocks (issue 14) in suspended generators, coroutines,
async generators and in parked threads, with their truth recorded in-process.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python with_blocks.py TRUTH_JSON READY_FIFO PONG_PATH

The variant comes from $STACKSCOPE_WITH_VARIANT (default "plain"):
- plain: nothing else;
- settrace: a trace function (returning itself, so line events too) in every thread (sys.settrace
  and threading.settrace before anything else runs), 3.8-3.11;
- monitoring: sys.monitoring with LINE and INSTRUCTION events on every code object, 3.12+;
- jit: nothing in the scenario; the harness sets PYTHON_JIT=1 (Debian 3.14/3.15), and the
  scenario runs hot loops inside `with` blocks so that ENTER_EXECUTOR lands in their bytecode.

The cases are ported from upstream stackscope's own tests (stackscope/_tests/test_traceback.py,
test_frames.py, example.py), written anew. Every `with` statement whose block is expected active
somewhere is tagged `# WITH: <tag>` on its first line (its start line), every line where a frame
is expected to be is tagged `# AT: <tag>`. WITH_SPECS says, per with-tag, what upstream prints
for it (its `as` target, or the local that holds the manager) and how the scenario finds the
manager object it created (recorded when made, a local, a global): the truth is the scenario's
own knowledge, never an analysis of bytecode. Each frame's expected contexts are given by the
case (CASE_CONTEXTS), and the scenario checks them against Python's own view where it has one
(the frame's line, the manager being where the case says it is, f_locals for upstream's
fallback varname) and exits non-zero if the scenario does not do what it claims.

The truth: per case, the object's id() (or the thread's native id), and per frame its function,
line, module, and each active context outermost first: manager id(), type(cm).__name__, the
`with` line, varname as upstream prints it (null for none), is_async, is_exiting, and
`shown_type` (what upstream can name: null where it cannot know the manager, a staticmethod
`__aexit__` being exited). With STACKSCOPE_UPSTREAM_ORACLE=1, on 3.8-3.12, the vendored upstream
stackscope's `str(stackscope.extract(obj))` per case (a thread: extract(thread)), its
`"".join(stack.format_flat(show_contexts=True))` of the same Stack.

Per context, also what its manager holds (issue 15), by upstream's glue_contextlib rules applied
to the live objects (see elaborate()): description, inner_stack, children.
"""
import asyncio
import contextlib
import dis
import gc
import os
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.dont_write_bytecode = True
from scenario_support import (await_chain, end_after_lifetime, install_pong_handler, signal_ready,  # noqa: E402
                              stack_of, tagged_lines, tool_function_name, upstream_function_name, write_json)

THIRD_PARTY = os.path.join(os.path.dirname(os.path.dirname(HERE)), "third_party")
UPSTREAM_VERSIONS = ((3, 8), (3, 12))
VARIANTS = ("plain", "settrace", "monitoring", "jit")
HOT_ITERATIONS = 20000  # well past the JIT's warm-up of a backward jump
MONITORING_TOOL = 3  # a free sys.monitoring tool id (0-5; 2, 3 are free of CPython's own users)

# --- managers the scenario makes, each remembered with the frame and line that made it ------

MADE = []  # [(making frame, line, manager)]


def remember(manager):
    caller = sys._getframe(2)
    MADE.append((caller, caller.f_lineno, manager))
    return manager


def recorded(factory):
    """`factory` whose every result is remembered with the frame and line that called it."""

    def make(*args, **kwargs):
        return remember(factory(*args, **kwargs))

    make.__name__ = make.__qualname__ = getattr(factory, "__name__", "made")
    return make


ExitStack = recorded(contextlib.ExitStack)
AsyncExitStack = recorded(contextlib.AsyncExitStack)
nullcontext = recorded(contextlib.nullcontext)
suppress = recorded(contextlib.suppress)
LOCK = threading.Lock()  # a global: upstream prints `# _: lock` (held by stdlib_managers)
THREAD_LOCK = threading.Lock()  # the same, held by thread_with_blocks


@types.coroutine
def async_yield(value):
    return (yield value)  # AT: async_yield


class YieldsDuringAexit:
    def __init__(self):
        remember(self)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await async_yield(42)  # AT: YieldsDuringAexit.__aexit__


class CapturesSelfInAexit(YieldsDuringAexit):
    """__aexit__'s self is captured by a closure: 3.8-3.10 move it into a cell after the
    locals, and its own slot is empty."""

    async def __aexit__(self, *exc):
        def owner():
            return self

        await async_yield(owner)  # AT: CapturesSelfInAexit.__aexit__


class SillyAsyncCM:
    """__aexit__ a staticmethod: upstream cannot tell which manager is exiting."""

    def __init__(self):
        remember(self)

    async def __aenter__(self):
        pass

    @staticmethod
    async def __aexit__(*stuff):
        await async_yield(None)  # AT: SillyAsyncCM.__aexit__


class C:
    """Upstream's assignment-target manager: __enter__ returns `val`, not itself."""

    def __init__(self, val):
        self.val = val
        remember(self)

    def __enter__(self):
        return self.val

    def __exit__(self, *exc):
        pass


class NS:
    pass


# --- the README example -----------------------------------------------------------------------


@contextlib.contextmanager
def null_context():
    yield  # AT: null_context


null_context = recorded(null_context)


def some_cb(*a, **kw):
    pass


def exit_cb(*exc):
    pass


@contextlib.contextmanager
def inner_context():
    stack = ExitStack()
    with stack:  # WITH: inner_context.stack
        stack.enter_context(null_context())
        stack.callback(some_cb, 10, "hi", answer=42)
        yield "inner"  # AT: inner_context


inner_context = recorded(inner_context)


@contextlib.contextmanager
def outer_context():
    with inner_context() as inner:  # WITH: outer_context.inner
        yield "outer"  # AT: outer_context


outer_context = recorded(outer_context)


def example():
    with outer_context():  # WITH: example.outer
        yield  # AT: example


def call_example():
    yield from example()  # AT: call_example


# --- ExitStack push / callback, yield from inside a with --------------------------------------


class Plain:
    """Callbacks bound to an object whose repr is object.__repr__ (no __repr__ in Python)."""

    def method(self, *exc):
        pass

    async def aexit(self, *exc):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass


def exitstack_user():
    """Upstream's every kind of ExitStack callback (test_traceback.py's inner_context and
    test_exitstack_formatting), a C manager, and an ExitStack inside the ExitStack."""
    with ExitStack() as stack:  # WITH: exitstack_user.stack
        stack.enter_context(null_context())
        stack.push(exit_cb)
        stack.callback(some_cb, 10, "hi", answer=42)
        stack.push(Plain().method)
        stack.callback(Plain().method)
        stack.enter_context(nullcontext())
        stack.enter_context(threading.Lock())
        nested = stack.enter_context(ExitStack())
        nested.callback(exit_cb, "nested")
        nested.enter_context(null_context())
        yield  # AT: exitstack_user


async def aexit_fn(*exc):
    pass


async def async_callback(*args):
    pass


@contextlib.asynccontextmanager
async def amgr():
    yield  # AT: amgr


async def async_exitstack_user():
    """Upstream's test_asyncexitstack_formatting, without a Python-level __repr__."""
    async with AsyncExitStack() as stack:  # WITH: async_exitstack.stack
        await stack.enter_async_context(Plain())
        await stack.enter_async_context(amgr())
        stack.push_async_exit(Plain().aexit)
        stack.push_async_exit(aexit_fn)
        stack.push_async_callback(async_callback, "hi")
        stack.callback(some_cb, answer=42)
        await async_yield(None)  # AT: async_exitstack_user


@contextlib.asynccontextmanager
async def acm_blocks_on_exit():
    try:
        yield
    finally:
        await async_yield(None)  # AT: acm_blocks_on_exit


acm_blocks_on_exit = recorded(acm_blocks_on_exit)


async def acm_exiting():
    """Upstream's test_acm_exiting: no inner stack while the manager exits."""
    async with acm_blocks_on_exit():  # WITH: acm_exiting.acm  AT: acm_exiting
        pass


def sub_generator():
    yield 42  # AT: sub_generator


def yields_from_in_with():
    with ExitStack() as stack:  # WITH: yields_from_in_with.stack
        yield from sub_generator()  # AT: yields_from_in_with


def multi_item_with():
    # 3.13+ gives the second item only its own line: the statement's is found in the source.
    with nullcontext(  # WITH: multi_item.ab
    ) as a, nullcontext(
    ) as b:
        yield  # AT: multi_item_with


async def not_started_with():  # AT: not_started_with
    with ExitStack():
        pass


# --- exiting: suspended in __aexit__ ----------------------------------------------------------


async def aexit_suspended():
    async with YieldsDuringAexit() as mgr:  # WITH: aexit_suspended.mgr  AT: aexit_suspended
        pass


async def aexit_captures_self():
    async with CapturesSelfInAexit() as mgr:  # WITH: aexit_captures_self.mgr  AT: aexit_captures_self
        pass


async def jumps_out(arg):
    try:
        for _ in range(2):
            async with YieldsDuringAexit() as mgr:  # WITH: jumps_out.mgr  AT: jumps_out
                if arg == "return":
                    return 10
                if arg == "break":
                    break
                if arg == "raise":
                    raise KeyError(arg)
    except KeyError as error:
        return error.args[0]
    return 30


async def staticmethod_aexit():
    async with SillyAsyncCM():  # WITH: staticmethod_aexit.silly  AT: staticmethod_aexit
        pass


# --- multi-line with, async with in finally ---------------------------------------------------


async def multiline_with():
    with nullcontext(  # WITH: multiline_with.n
        # multiline
    ) as n:
        async with YieldsDuringAexit(  # WITH: multiline_with.y
            # multiline
        ) as y:
            yield  # AT: multiline_with


@contextlib.asynccontextmanager
async def inner_acm():
    yield  # AT: inner_acm


inner_acm = recorded(inner_acm)


async def async_with_in_finally():
    try:
        yield 1
    finally:
        async with inner_acm() as icm:  # WITH: async_with_in_finally.icm
            yield 2  # AT: async_with_in_finally


# --- assignment targets -----------------------------------------------------------------------


async def assignment_targets():
    ns = NS()
    ns.sub = NS()
    dct = {"sub": {}}
    with C((1, 2)) as (a, b), C((3,)) as [c]:  # WITH: targets.tuple_list
        with C(4) as x:  # WITH: targets.name
            with C(5) as ns.foo, C(6) as ns.sub.foo:  # WITH: targets.attributes
                with C(7) as dct["one"], C(8) as dct["sub"]["two"]:  # WITH: targets.subscripts
                    with C(9):  # WITH: targets.none
                        await async_yield((a, b, c, x))  # AT: assignment_targets


async def starred_target():
    with C(range(4)) as (first, *rest, last):  # WITH: starred.target
        await async_yield((first, rest, last))  # AT: starred_target


async def exotic_targets():
    ns = NS()
    dct = {"sub": {}}
    with C(1) as dct.__getitem__("sub")["three"]:  # WITH: exotic.call_subscript
        with C(2) as locals()["ns"].bar, C(3) as locals()[b"x".decode("ascii") + "y"]:  # WITH: exotic.locals
            await async_yield((ns, dct))  # AT: exotic_targets


# --- C-implemented and standard-library managers; locals and globals --------------------------


def stdlib_managers():
    a_lock = threading.Lock()
    with suppress(KeyError):  # WITH: stdlib.suppress
        with nullcontext():  # WITH: stdlib.nullcontext
            with LOCK:  # WITH: stdlib.global_lock
                with a_lock:  # WITH: stdlib.local_lock
                    yield  # AT: stdlib_managers


def last_local_wins():
    a_lock = threading.Lock()
    z_lock = a_lock
    with a_lock:  # WITH: last_local.lock
        yield z_lock  # AT: last_local_wins


# --- EXTENDED_ARG: more than 256 constants before the `with`'s None ----------------------------

EXTENDED_ARG_LINES = [
    "async def extended_arg():",
    "    '''Docstring: the first constant, so None comes after all the others.'''",
    "    s = {}",
    "    lst = [%s]" % ", ".join("s.get(%d)" % n for n in range(1000, 2000)),
    "    async with YieldsDuringAexit() as mgr:  %s WITH: extended_arg.mgr  AT: extended_arg" % chr(35),  # not a tag here
    "        pass",
]


def load_extended_arg(directory):
    """The generated coroutine function, from a file (so that its source lines can be shown)."""
    path = os.path.join(directory, "extended_arg_case.py")
    with open(path, "w") as out:
        out.write("\n".join(EXTENDED_ARG_LINES) + "\n")
    namespace = {"__name__": "extended_arg_case", "YieldsDuringAexit": YieldsDuringAexit}
    with open(path) as source:
        exec(compile(source.read(), path, "exec"), namespace)
    function = namespace["extended_arg"]
    consts = function.__code__.co_consts
    # 3.15 loads None with LOAD_COMMON_CONSTANT: no constant index, no EXTENDED_ARG for it.
    index = next((i for i, value in enumerate(consts) if value is None), None)
    if index is not None and index <= 255:
        raise SystemExit("scenario: extended_arg's None is constant %d, no EXTENDED_ARG" % index)
    PREMISES["extended_arg_none_index"] = index
    return path, function


# --- JIT: hot loops inside with blocks --------------------------------------------------------


async def hot_loop():
    with ExitStack() as stack:  # WITH: hot_loop.stack
        total = 0
        for i in range(HOT_ITERATIONS):
            total += i
        async with YieldsDuringAexit() as mgr:  # WITH: hot_loop.mgr
            for i in range(HOT_ITERATIONS):
                total -= i
            await async_yield(total)  # AT: hot_loop


# --- threads ----------------------------------------------------------------------------------


def thread_with_blocks(gate):
    local_lock = threading.Lock()
    with THREAD_LOCK:  # WITH: thread.global_lock
        with local_lock:  # WITH: thread.local_lock
            with ExitStack() as es:  # WITH: thread.es
                es.callback(print, "bye")
                with outer_context():  # WITH: thread.outer
                    total = 0
                    for i in range(HOT_ITERATIONS):  # hot, for the JIT variant
                        total += i
                    thread_inner(gate)  # AT: thread_with_blocks


def thread_inner(gate):
    total = 0
    for i in range(HOT_ITERATIONS):  # hot, for the JIT variant
        total += i
    gate.wait()  # AT: thread_inner


@contextlib.contextmanager
def blocks_on_exit(gate):
    try:
        yield
    finally:
        gate.wait()  # AT: blocks_on_exit


blocks_on_exit = recorded(blocks_on_exit)


def thread_exiting(gate):
    with blocks_on_exit(gate):  # WITH: thread_exiting.gcm  AT: thread_exiting
        pass


@contextlib.contextmanager
def resumed_elsewhere(gate):
    yield
    gate.wait()  # AT: resumed_elsewhere


resumed_elsewhere = recorded(resumed_elsewhere)
RESUMED = {}  # the manager thread_gen_running holds, once it holds it


def thread_gen_running(gate, entered):
    """Holds a @contextmanager manager whose generator another thread resumed (it runs there,
    parked after its yield): the inner stack is that thread's frames, from the generator's in."""
    manager = RESUMED["cm"] = resumed_elsewhere(gate)
    with manager:  # WITH: thread_gen_running.cm
        entered.set()
        gate.wait()  # AT: thread_gen_running


def resume_generator(gate, entered):
    entered.wait()
    next(RESUMED["cm"].gen, None)  # AT: resume_generator


# --- what each with-tag is ---------------------------------------------------------------------

# tag: (is_async, `as` target as upstream prints it or None, where the manager is)
#   where: "made" (remembered when made by the frame, at or after the with line),
#          "local:NAME", "global:NAME", "cond" (threading's Event.wait: self._cond)
# A block without a target whose manager is a local of the frame: upstream names it after the
# local (the last one holding it); WITH_FALLBACK says which, checked against f_locals.
WITH_SPECS = {
    "example.outer": (False, None, "made"),
    "outer_context.inner": (False, "inner", "made"),
    "inner_context.stack": (False, None, "local:stack"),
    "exitstack_user.stack": (False, "stack", "made"),
    "yields_from_in_with.stack": (False, "stack", "made"),
    "aexit_suspended.mgr": (True, "mgr", "made"),
    "aexit_captures_self.mgr": (True, "mgr", "made"),
    "jumps_out.mgr": (True, "mgr", "made"),
    "staticmethod_aexit.silly": (True, None, "made"),
    "multiline_with.n": (False, "n", "made"),
    "multi_item.ab": (False, ("a", "b"), "made"),
    "multiline_with.y": (True, "y", "made"),
    "async_with_in_finally.icm": (True, "icm", "made"),
    "targets.tuple_list": (False, ("(a, b)", "(c,)"), "made"),
    "targets.name": (False, "x", "made"),
    "targets.attributes": (False, ("ns.foo", "ns.sub.foo"), "made"),
    "targets.subscripts": (False, ("dct['one']", "dct['sub']['two']"), "made"),
    "targets.none": (False, None, "made"),
    "starred.target": (False, "(first, *rest, last)", "made"),
    "exotic.call_subscript": (False, "dct.__getitem__('sub')['three']", "made"),
    "exotic.locals": (False, ("locals()['ns'].bar", None), "made"),
    "stdlib.suppress": (False, None, "made"),
    "stdlib.nullcontext": (False, None, "made"),
    "stdlib.global_lock": (False, None, "global:LOCK"),
    "stdlib.local_lock": (False, None, "local:a_lock"),
    "last_local.lock": (False, None, "local:a_lock"),
    "extended_arg.mgr": (True, "mgr", "made"),
    "hot_loop.stack": (False, "stack", "made"),
    "async_exitstack.stack": (True, "stack", "made"),
    "acm_exiting.acm": (True, None, "made"),
    "hot_loop.mgr": (True, "mgr", "made"),
    "thread.global_lock": (False, None, "global:THREAD_LOCK"),
    "thread.local_lock": (False, None, "local:local_lock"),
    "thread.es": (False, "es", "made"),
    "thread.outer": (False, None, "made"),
    "thread_exiting.gcm": (False, None, "made"),
    "thread_gen_running.cm": (False, None, "local:manager"),
    "threading.Event.wait": (False, None, "cond"),
}
WITH_FALLBACK = {  # tag: the local upstream names a target-less block after
    "inner_context.stack": "stack",
    "stdlib.local_lock": "a_lock",
    "last_local.lock": "z_lock",  # a_lock and z_lock hold it; the last local wins
    "thread.local_lock": "local_lock",
    "thread_gen_running.cm": "manager",
}

# Expected contexts per frame, by the frame's AT tag: [(with tag, item index, exiting)],
# outermost first. A with statement with two items gives two contexts (index 0 and 1).
CASE_CONTEXTS = {
    "example": [("example.outer", 0, False)],
    "exitstack_user": [("exitstack_user.stack", 0, False)],
    "inner_context": [("inner_context.stack", 0, False)],
    "outer_context": [("outer_context.inner", 0, False)],
    "async_exitstack_user": [("async_exitstack.stack", 0, False)],
    "acm_exiting": [("acm_exiting.acm", 0, True)],
    "yields_from_in_with": [("yields_from_in_with.stack", 0, False)],
    "aexit_suspended": [("aexit_suspended.mgr", 0, True)],
    "aexit_captures_self": [("aexit_captures_self.mgr", 0, True)],
    "jumps_out": [("jumps_out.mgr", 0, True)],
    "staticmethod_aexit": [("staticmethod_aexit.silly", 0, True)],
    "multiline_with": [("multiline_with.n", 0, False), ("multiline_with.y", 0, False)],
    "multi_item_with": [("multi_item.ab", 0, False), ("multi_item.ab", 1, False)],
    "async_with_in_finally": [("async_with_in_finally.icm", 0, False)],
    "assignment_targets": [("targets.tuple_list", 0, False), ("targets.tuple_list", 1, False),
                           ("targets.name", 0, False), ("targets.attributes", 0, False),
                           ("targets.attributes", 1, False), ("targets.subscripts", 0, False),
                           ("targets.subscripts", 1, False), ("targets.none", 0, False)],
    "starred_target": [("starred.target", 0, False)],
    "exotic_targets": [("exotic.call_subscript", 0, False), ("exotic.locals", 0, False), ("exotic.locals", 1, False)],
    "stdlib_managers": [("stdlib.suppress", 0, False), ("stdlib.nullcontext", 0, False),
                        ("stdlib.global_lock", 0, False), ("stdlib.local_lock", 0, False)],
    "last_local_wins": [("last_local.lock", 0, False)],
    "extended_arg": [("extended_arg.mgr", 0, True)],
    "hot_loop": [("hot_loop.stack", 0, False), ("hot_loop.mgr", 0, False)],
    "thread_with_blocks": [("thread.global_lock", 0, False), ("thread.local_lock", 0, False),
                           ("thread.es", 0, False), ("thread.outer", 0, False)],
    "thread_exiting": [("thread_exiting.gcm", 0, True)],
    "thread_gen_running": [("thread_gen_running.cm", 0, False)],
    "Event.wait": [("threading.Event.wait", 0, False)],
}
CASE_CONTEXTS_OVERRIDE = {  # (case, AT tag): contexts, where a case differs from the function's default
    ("multiline_with_exiting", "multiline_with"): [("multiline_with.n", 0, False), ("multiline_with.y", 0, True)],
}
# Frames of other files that may be on the cases' stacks (module, co_name), with no active block.
PLAIN_FOREIGN = {("threading", "wait"), ("threading", "_bootstrap"), ("threading", "_bootstrap_inner"),
                 ("threading", "run"), ("contextlib", "__exit__"), ("contextlib", "__aexit__")}


# --- building the cases -----------------------------------------------------------------------


def started(obj):
    if isinstance(obj, types.GeneratorType):
        next(obj)
    else:
        obj.send(None)
    return obj


def asend_once(agen, value=None):
    """One asend() driven to the async generator's next yield (or a suspension inside)."""
    try:
        agen.asend(value).send(None)
    except StopIteration:  # it yielded
        pass
    return agen


def suspended_in_asend(agen):
    """Drive asend() until it suspends without the async generator yielding (inside __aexit__)."""
    step = agen.asend(None)
    step.send(None)  # suspends inside the awaited __aexit__: async_yield's value goes out
    KEEP.append(step)
    return agen


def build_cases(workdir):
    """[(case name, object)]: the suspended objects (read with --object)."""
    cases = []

    def case(name, obj):
        cases.append((name, obj))

    case("readme_example", started(call_example()))
    case("exitstack_push_callback", started(exitstack_user()))
    case("async_exitstack", started(async_exitstack_user()))
    case("acm_exiting", started(acm_exiting()))
    case("yield_from_in_with", started(yields_from_in_with()))
    case("not_started", not_started_with())
    case("aexit_suspended", started(aexit_suspended()))
    case("aexit_captures_self", started(aexit_captures_self()))
    for how in ("return", "break", "raise"):
        case("jump_out_" + how, started(jumps_out(how)))
    case("staticmethod_aexit", started(staticmethod_aexit()))
    case("multiline_with", asend_once(multiline_with()))
    case("multi_item_with", started(multi_item_with()))
    case("multiline_with_exiting", suspended_in_asend(asend_once(multiline_with())))
    after_asend = asend_once(async_with_in_finally())
    case("async_with_in_finally", asend_once(after_asend))
    thrown = asend_once(async_with_in_finally())
    try:
        thrown.athrow(ValueError).send(None)
    except StopIteration:  # yielded 2 in the finally block
        pass
    case("async_with_in_finally_throw", thrown)
    case("assignment_targets", started(assignment_targets()))
    case("starred_target", started(starred_target()))
    case("exotic_targets", started(exotic_targets()))
    case("stdlib_managers", started(stdlib_managers()))
    case("last_local_wins", started(last_local_wins()))
    path, extended_arg = load_extended_arg(workdir)
    read_tags(path)
    case("extended_arg", started(extended_arg()))
    case("hot_loop", started(hot_loop()))
    return cases


def start_threads():
    """[(case name, Thread)], each parked in Event.wait inside with blocks."""
    gate = threading.Event()
    KEEP.append(gate)
    entered = threading.Event()
    threads = [("thread_with_blocks", threading.Thread(target=thread_with_blocks, args=(gate,),
                                                        name="with-blocks", daemon=True)),
               ("thread_exiting", threading.Thread(target=thread_exiting, args=(gate,),
                                                    name="with-exiting", daemon=True)),
               ("thread_gen_running", threading.Thread(target=thread_gen_running, args=(gate, entered),
                                                        name="with-gen-running", daemon=True))]
    resumer = threading.Thread(target=resume_generator, args=(gate, entered), name="resumer", daemon=True)
    KEEP.append(resumer)
    for _, thread in threads:
        thread.start()
    resumer.start()
    return threads, resumer


# --- truth ------------------------------------------------------------------------------------

TAGS = set()  # {(filename, line, AT tag)}
WITH_TAGS = set()  # {(filename, line, WITH tag)}
KEEP = []
PREMISES = {}  # facts the cases rely on, for the tests to check


def read_tags(path):
    """TAGS and WITH_TAGS of a file; `# WITH: x  AT: y` carries both."""
    TAGS.update((path, line, tag) for line, tag in tagged_lines(path, "AT").items())
    for line, tag in tagged_lines(path, "WITH").items():
        WITH_TAGS.add((path, line, tag.split()[0]))
        if "AT:" in tag:
            TAGS.add((path, line, tag.split("AT:", 1)[1].strip()))


def at_tag(frame):
    """The AT tag of the frame's function: the first one at or after its first line (each
    function of the scenario that shows up in a stack has one). Not the tag of the frame's line:
    3.8 and 3.9 put a frame that exits a block at the block's last line."""
    code = frame.f_code
    lines = sorted((line, t) for f, line, t in TAGS if f == code.co_filename and line >= code.co_firstlineno)
    return lines[0][1] if lines else None


def line_tag(frame):
    tags = [t for f, line, t in TAGS if f == frame.f_code.co_filename and line == frame.f_lineno]
    return tags[0] if tags else None


def with_line(tag):
    lines = [(f, line) for f, line, t in WITH_TAGS if t == tag]
    if len(lines) != 1:
        raise SystemExit("scenario: WITH tag %r on %d lines" % (tag, len(lines)))
    return lines[0]


def event_wait_line():
    """The line of `with self._cond:` in threading's Event.wait (the source says it)."""
    code = threading.Event.wait.__code__
    with open(code.co_filename) as source:
        lines = source.read().splitlines()
    for number in range(code.co_firstlineno, len(lines) + 1):
        if lines[number - 1].strip() == "with self._cond:":
            return number
    raise SystemExit("scenario: no `with self._cond:` in Event.wait")


def manager_of(frame, tag, index, where):
    """The manager object of a with tag's item in a frame, from what the scenario knows."""
    if where == "cond":
        return frame.f_locals["self"]._cond
    if where.startswith("local:"):
        return frame.f_locals[where[6:]]
    if where.startswith("global:"):
        return globals()[where[7:]]
    filename, start = with_line(tag)
    end = header_end(filename, start)
    made = [m for f, line, m in MADE if f is frame and start <= line <= end]
    if len(made) <= index:
        raise SystemExit("scenario: %s item %d: the frame made %d managers there" % (tag, index, len(made)))
    # A loop makes one per iteration: the items of the last iteration are the active ones.
    count = 2 if isinstance(WITH_SPECS[tag][1], tuple) else 1
    return made[len(made) - count + index]


def header_end(filename, start):
    """The last line of the with statement starting at `start`: the first whose code ends in ':'."""
    with open(filename) as source:
        lines = source.read().splitlines()
    for number in range(start, len(lines) + 1):
        if lines[number - 1].partition("#")[0].rstrip().endswith(":"):
            return number
    raise SystemExit("scenario: no end of the with statement at %s:%d" % (filename, start))


def describe_context(case, frame, tag, index, exiting):
    is_async, target, where = WITH_SPECS[tag]
    if isinstance(target, tuple):
        target = target[index]
    manager = manager_of(frame, tag, index, where)
    if tag == "threading.Event.wait":
        filename, start = frame.f_code.co_filename, event_wait_line()
    else:
        filename, start = with_line(tag)
    if filename != frame.f_code.co_filename:
        raise SystemExit("scenario: with tag %s is not in %s" % (tag, frame.f_code.co_filename))
    # Upstream's fallback: a target-less block is named after the last local holding the
    # manager, except while exiting (the manager is then found after the fallback ran).
    fallback = None
    if target is None and not exiting:
        holders = [name for name, value in frame.f_locals.items() if value is manager]
        fallback = holders[-1] if holders else None
        if fallback != WITH_FALLBACK.get(tag):
            raise SystemExit("scenario: %s: locals holding the manager %r, WITH_FALLBACK says %r"
                             % (tag, holders, WITH_FALLBACK.get(tag)))
    # Upstream knows the manager of an exiting block from the first argument of the __exit__ /
    # __aexit__ frame: a staticmethod's has none.
    known = not (exiting and isinstance(manager, SillyAsyncCM))
    context = {
        "tag": tag,
        "address": id(manager),
        "type": type(manager).__name__,
        "shown_type": type(manager).__name__ if known else None,
        "start_line": start,
        "varname": target if target is not None else fallback,
        "is_async": is_async,
        "is_exiting": exiting,
    }
    elaborate(case, context, manager if known else None)
    return context


# --- what each manager holds (issue 15), by upstream's glue_contextlib rules --------------------
#
# Each context also gets `description`, `inner_stack` (a @contextmanager's generator's frames,
# described as the stack's frames are; null while exiting or for other managers) and `children`
# (an ExitStack's callbacks, each a context like this one).


def format_funcname(func):
    """Upstream's format_funcname."""
    if isinstance(func, types.MethodType):
        return "%r.%s" % (func.__self__, func.__name__)
    try:
        return "%s.%s" % (func.__module__, func.__qualname__)
    except AttributeError:
        return repr(func)


def format_funcargs(args, kwds):
    return [repr(arg) for arg in args] + ["%s=%r" % (k, v) for k, v in kwds.items()]


def generator_frames(gen):
    """A generator's frames as upstream's extract_child gives them: a suspended one's await
    chain; a running one's, the frames of the thread that runs it, from its own frame in."""
    if not getattr(gen, "gi_running", False) and not getattr(gen, "ag_running", False):
        return await_chain(gen)
    frame = getattr(gen, "gi_frame", None) or getattr(gen, "ag_frame", None)
    for inner in sys._current_frames().values():
        frames = stack_of(inner)
        if frame in frames:
            return frames[frames.index(frame):]
    raise SystemExit("scenario: no thread runs %r" % (gen,))


def elaborate(case, context, manager):
    context.update({"description": "", "inner_stack": None, "children": []})
    if isinstance(manager, contextlib._GeneratorContextManagerBase):
        if not context["is_exiting"]:
            context["inner_stack"] = [describe_frame(case, f) for f in generator_frames(manager.gen)]
        if hasattr(manager, "func"):  # entering deletes func, args and kwds
            args = format_funcargs(manager.args, manager.kwds)
            context["description"] = "%s(%s)" % (format_funcname(manager.func), ", ".join(args))
        else:
            context["description"] = manager.gen.__qualname__ + "(...)"
    elif isinstance(manager, contextlib._BaseExitStack):
        name = context["varname"] or "_"
        for index, (is_sync, callback) in enumerate(manager._exit_callbacks):
            child_manager, tag = None, ""
            if hasattr(callback, "__self__"):
                child_manager = callback.__self__
                if not isinstance(callback, types.MethodType) or callback.__func__.__name__ in ("__exit__", "__aexit__"):
                    tag = "" if is_sync else "await "
                    method = "enter_context" if is_sync else "enter_async_context"
                    argument = repr(child_manager)
                else:
                    method = "push" if is_sync else "push_async_exit"
                    argument = format_funcname(callback)
            elif getattr(callback, "__name__", None) == "_exit_wrapper" and hasattr(callback, "__wrapped__"):
                cells = dict(zip(callback.__code__.co_freevars, callback.__closure__))
                args = format_funcargs(cells["args"].cell_contents, cells["kwds"].cell_contents)
                argument = ", ".join([format_funcname(callback.__wrapped__)] + args)
                method = "callback" if is_sync else "push_async_callback"
            else:
                method = "push" if is_sync else "push_async_exit"
                argument = format_funcname(callback)
            shown = child_manager or callback
            child = {"tag": None, "address": id(shown), "type": type(shown).__name__,
                     "shown_type": type(shown).__name__, "start_line": context["start_line"],
                     "varname": "%s[%d]" % (name, index), "is_async": not is_sync, "is_exiting": False}
            elaborate(case, child, shown)
            child["description"] = "%s%s.%s(%s)" % (tag, name, method, child["description"] or argument or "...")
            context["children"].append(child)


def describe_frame(case, frame):
    code = frame.f_code
    module = frame.f_globals.get("__name__")
    ours = code.co_filename == __file__ or module == "extended_arg_case"
    tag = at_tag(frame) if ours else None
    function = tool_function_name(frame)
    entry = {
        "name": code.co_name,
        "function": function,
        "upstream_function": upstream_function_name(frame),
        "filename": code.co_filename,
        "line": frame.f_lineno,
        "module": module,
        "hidden": code.co_filename == threading.__file__ and code.co_name in ("_bootstrap", "_bootstrap_inner", "run"),
        "tag": tag,
        "line_tag": line_tag(frame) if ours else None,
        "contexts": [],
    }
    if code is threading.Event.wait.__code__:
        tag = "Event.wait"
    elif ours and tag is None:
        raise SystemExit("scenario: untagged frame %s at line %d" % (function, frame.f_lineno))
    elif not ours and (module, code.co_name) not in PLAIN_FOREIGN:
        raise SystemExit("scenario: unexpected frame %s in %s" % (function, module))
    contexts = CASE_CONTEXTS_OVERRIDE.get((case, tag), CASE_CONTEXTS.get(tag, []))
    entry["contexts"] = [describe_context(case, frame, *item) for item in contexts]
    return entry


def thread_frames(thread):
    frame = sys._current_frames()[thread.ident]
    return stack_of(frame)


def wait_for_parked_threads(threads, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stacks = [thread_frames(t) for _, t in threads]
        if all(any(f.f_code is threading.Condition.wait.__code__ for f in frames) for frames in stacks):
            time.sleep(0.2)
            return
        time.sleep(0.05)
    raise SystemExit("scenario: threads did not park within %.0fs" % timeout)


def has_executor(code):
    """Whether the JIT put an ENTER_EXECUTOR into the code's (adaptive) bytecode."""
    opcode = dis.opmap.get("ENTER_EXECUTOR")
    adaptive = getattr(code, "_co_code_adaptive", None)
    if opcode is None or adaptive is None:
        return False
    # At instruction starts only (caches hold any byte); dis shows the replaced instruction.
    return any(adaptive[i.offset] == opcode for i in dis.get_instructions(code))


def record_object(name, obj):
    frames = await_chain(obj)
    return {"case": name, "kind": "object", "address": id(obj), "type": type(obj).__name__,
            "thread_tid": None, "frames": [describe_frame(name, f) for f in frames],
            "executors": sorted({f.f_code.co_name for f in frames if has_executor(f.f_code)})}


def record_thread(name, thread):
    frames = thread_frames(thread)
    return {"case": name, "kind": "thread", "address": id(thread), "type": type(thread).__name__,
            "thread_tid": thread.native_id, "thread_name": thread.name,
            "frames": [describe_frame(name, f) for f in frames],
            "executors": sorted({f.f_code.co_name for f in frames if has_executor(f.f_code)})}


# --- variants ---------------------------------------------------------------------------------


def tracer(frame, event, arg):
    return tracer


def monitoring_callback(*args):
    return None  # never DISABLE: every instruction stays instrumented


def install_variant(variant):
    if variant not in VARIANTS:
        raise SystemExit("scenario: unknown variant %r" % variant)
    if variant == "settrace":
        if sys.version_info >= (3, 12):
            raise SystemExit("scenario: the settrace variant is for 3.8-3.11")
        threading.settrace(tracer)
        sys.settrace(tracer)
    elif variant == "monitoring":
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None:
            raise SystemExit("scenario: no sys.monitoring before 3.12")
        monitoring.use_tool_id(MONITORING_TOOL, "stackscope-with-tests")
        events = monitoring.events
        monitoring.register_callback(MONITORING_TOOL, events.LINE, monitoring_callback)
        monitoring.register_callback(MONITORING_TOOL, events.INSTRUCTION, monitoring_callback)
        monitoring.set_events(MONITORING_TOOL, events.LINE | events.INSTRUCTION)
    elif variant == "jit":
        jit = getattr(sys, "_jit", None)
        if jit is None or not jit.is_enabled():
            raise SystemExit("scenario: the jit variant needs a JIT enabled (PYTHON_JIT=1)")


def variant_state(variant):
    state = {"variant": variant, "gettrace": sys.gettrace() is not None}
    if getattr(sys, "monitoring", None) is not None:
        state["monitoring_tool"] = sys.monitoring.get_tool(MONITORING_TOOL)
        state["monitoring_events"] = sys.monitoring.get_events(MONITORING_TOOL)
    jit = getattr(sys, "_jit", None)
    state["jit_enabled"] = bool(jit is not None and jit.is_enabled())
    return state


# --- upstream stackscope, the text oracle -------------------------------------------------


def upstream_texts(cases, threads):
    if os.environ.get("STACKSCOPE_UPSTREAM_ORACLE") != "1":
        return {"skipped": "not asked (STACKSCOPE_UPSTREAM_ORACLE is not 1)", "texts": {}}
    if not UPSTREAM_VERSIONS[0] <= sys.version_info[:2] <= UPSTREAM_VERSIONS[1]:
        return {"skipped": "upstream stackscope supports 3.8-3.12, this is %d.%d" % sys.version_info[:2], "texts": {}}
    sys.path[:0] = [os.path.join(THIRD_PARTY, "stackscope"), os.path.join(THIRD_PARTY, "stubs")]
    try:
        import stackscope
    except Exception as error:
        why = "upstream stackscope failed to import: %s: %s" % (type(error).__name__, error)
        sys.stderr.write("!!! %s\n" % why)
        return {"skipped": why, "texts": {}}
    texts, flat = {}, {}
    for name, obj in list(cases) + list(threads):
        try:
            stack = stackscope.extract(obj)
            texts[name] = str(stack)
        except Exception as error:
            texts[name] = "!!! upstream raised %s: %s" % (type(error).__name__, error)
            continue
        try:
            flat[name] = "".join(stack.format_flat(show_contexts=True))
        except Exception as error:
            flat[name] = "!!! upstream raised %s: %s" % (type(error).__name__, error)
    return {"skipped": None, "texts": texts, "flat": flat}


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    variant = os.environ.get("STACKSCOPE_WITH_VARIANT", "plain")
    install_variant(variant)
    read_tags(__file__)
    install_pong_handler(pong_path)
    end_after_lifetime()
    workdir = os.path.dirname(os.path.abspath(truth_path))
    cases = build_cases(workdir)
    threads, resumer = start_threads()
    KEEP.extend([cases, threads])
    wait_for_parked_threads(threads + [("resumer", resumer)])
    truth = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "executable": sys.executable,
        "threading_file": threading.__file__,
        "variant": variant_state(variant),
        "premises": PREMISES,
        "cases": [record_object(n, o) for n, o in cases] + [record_thread(n, t) for n, t in threads],
    }
    truth["upstream"] = upstream_texts(cases, threads)
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(100000)  # AT: main


if __name__ == "__main__":
    main()
