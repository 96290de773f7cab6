"""stackscope for gdb (loaded by stackscope-gdb.py, which calls register()): `py-stackscope`
(every thread), `py-stackscope thread`, `py-stackscope object` (objects by address),
`py-stackscope tasks` (every thread, then every asyncio task) and Python frames in `bt`.  All CPython knowledge, and how the inferior is read, is in the
core (stackscope_core, beside this file); this glue holds the commands, their options and
gdb's API: it describes gdb's inferior and threads, and lists gdb's frames.

Importing it registers nothing; register() adds the parameter, the commands, the frame
filter and the cache's event handlers (once), so that its logic can be tested outside gdb
with a stand-in `gdb` module (tests/unit/test_gdb_glue.py).

Counters (supported, read by the tests): `extractions`, how many times an inferior was read
(its threads once per stop, again when tasks or variables are asked for and the stop's read
lacks them: see _cache; its objects once per `py-stackscope object`); `frame_filter_errors`, how many times the `bt` frame filter met a
bug (in the core or this glue) and showed gdb's own frames instead; the first is reported in
one warning line."""
import itertools
import os
import re

import gdb
from gdb.FrameDecorator import FrameDecorator

import stackscope_core as core

MAX_NATIVE_FRAMES = 100000
extractions = 0  # how many times the inferior was read (threads once per stop: see _cache; objects per command)
frame_filter_errors = 0  # bugs the frame filter swallowed (the first one is reported)


def _stack_pointer(frame):
    try:
        return int(frame.read_register("rsp"))
    except (gdb.error, ValueError):
        return None


def _natives(frames):
    """gdb's frames (newest first) as Thread.place_eval_calls takes them (the core's
    native_frames: (symbol, stack_low, stack_high))."""
    return core.native_frames([(f.name(), _stack_pointer(f)) for f in frames])


# The one extraction per stop and inferior ("key", "snapshot") and whether the inferior looks
# like Python ("python_key", "python"): dropped when the inferior resumes, its memory is
# written, or its objfiles change (register() connects the events).
_cache = {}
CACHE_EVENTS = ("cont", "exited", "new_objfile", "clear_objfiles", "memory_changed", "inferior_call")


class _MemoryParameter(gdb.Parameter):
    """auto: read a live local process directly (process_vm_readv) and open a core file
itself; anything else (remote targets) through gdb.  gdb: always through gdb (slower)."""

    set_doc, show_doc = "Set how py-stackscope reads the inferior.", "Show how py-stackscope reads the inferior."

    def __init__(self):
        super().__init__("py-stackscope-memory", gdb.COMMAND_DATA, gdb.PARAM_ENUM, ["auto", "gdb"])
        self.value = "auto"

    def get_set_string(self):
        _cache.clear()
        return ""


_memory = None  # the _MemoryParameter, once registered


def _fail(message, command="py-stackscope"):
    raise gdb.GdbError(command + ": " + message)


def _handle(thread):
    """gdb's handle of the thread (its pthread_t's bytes, decoded by the core), or None."""
    try:
        return bytes(thread.handle())
    except Exception:
        return None


def _registers(thread):
    """(orig_rax, rdi, registers) as gdb reads them (the core's kernel_view decodes the first
    two); registers, the values of core.DWARF_REGISTER_NAMES, only where the core needs them
    (core.needs_registers: a thread in restart_syscall, named by the call it resumed), else
    None; (None, None, None) where gdb has no such registers (not x86-64 Linux)."""
    selected = gdb.selected_thread()
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        frame = None
    try:
        thread.switch()
        newest = gdb.newest_frame()
        orig_rax = int(newest.read_register("orig_rax"))
        registers = None
        if core.needs_registers(orig_rax & 0xFFFFFFFFFFFFFFFF):
            registers = [int(newest.read_register(name)) & 0xFFFFFFFFFFFFFFFF for name in core.DWARF_REGISTER_NAMES]
        return orig_rax, int(newest.read_register("rdi")), registers
    except (gdb.error, ValueError):
        return None, None, None
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
            if frame is not None and frame.is_valid():
                frame.select()


def _core_path():
    """The core file gdb has open (gdb 13 does not publish it but in `info target`)."""
    corefile = getattr(gdb.selected_inferior(), "corefile", None)  # newer gdbs
    if corefile is not None:
        return getattr(corefile, "filename", None)
    text = gdb.execute("info target", to_string=True)
    match = re.search(r"Local core dump file:\s*`(.*)', file type", text)
    return match.group(1) if match else None


MAPPING = re.compile(r"^[ \t]*(0x[0-9a-f]+)[ \t]+(0x[0-9a-f]+)[ \t]+0x[0-9a-f]+[ \t]+(0x[0-9a-f]+)"
                     r"(?:[ \t]+([r-][w-][x-][ps-]))?[ \t]*(.*)$", re.M)


def _regions():
    """[(start, end, offset, path, perms)] from `info proc mappings`, [] where unsupported."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error:
        return []
    return [(int(m[1], 16), int(m[2], 16), int(m[3], 16), m[5].strip(), m[4]) for m in MAPPING.finditer(text)]


def _lookup_symbol(name):
    if not name.isidentifier():
        return None
    # The expression is C: gdb parses it in the selected frame's language, and in a Rust frame
    # (a PyO3 extension) it is a syntax error.  `set language` leaves auto mode: restore it.
    language = gdb.parameter("language")
    if language != "c":
        gdb.execute("set language c", to_string=True)
    try:  # works from ELF symbols too, where gdb.lookup_global_symbol needs DWARF
        return int(gdb.parse_and_eval("(unsigned long)&%s" % name))
    except gdb.error:
        return None
    finally:
        if language != "c":
            gdb.execute("set language %s" % language, to_string=True)


def _extract(inferior, gdb_threads, objects=(), with_locals=False, with_tasks=False, with_locks=False):
    """A Snapshot of the inferior, read the fastest way its target allows (the core decides:
    a live local process and a core file directly, anything else through gdb); with `objects`
    (addresses), of those objects instead of the threads; with `with_locals`, each frame's
    variables too; with `with_tasks`, every asyncio task too; with `with_locks`, the locks."""
    kind = getattr(getattr(inferior, "connection", None), "type", None) or ""
    memory = "debugger" if _memory is not None and _memory.value == "gdb" else "auto"

    def threads(with_registers):
        return [(t.num, t.ptid[1], _handle(t)) + (_registers(t) if with_registers else ()) for t in gdb_threads]

    core_path, executable, search = "", "", ""
    if kind == "core" and memory == "auto":
        core_path = _core_path() or ""
        executable = gdb.current_progspace().filename or ""
        search = gdb.parameter("solib-search-path") or ""
    return core.from_debugger(kind, inferior.pid, threads, inferior.read_memory, regions=_regions,
                              lookup_symbol=_lookup_symbol, core_path=core_path, executable=executable,
                              lib_search_path=[d for d in search.split(":") if d], memory=memory,
                              objects=list(objects), locals=with_locals, tasks=with_tasks, locks=with_locks)


def _stopped_inferior():
    """(inferior, its threads); gdb.GdbError (one line) when there is nothing to read."""
    inferior = gdb.selected_inferior()
    if inferior.pid == 0:
        _fail("no process (run or attach to a Python program, or load a core file with its executable)")
    gdb_threads = inferior.threads()
    if any(t.is_running() for t in gdb_threads):
        _fail("the inferior is running: interrupt it first")
    return inferior, gdb_threads


def _read(with_locals=False, with_tasks=False, with_locks=False):
    """The inferior's Snapshot for this stop, or the core.Error reading it raised (both
    cached; a snapshot read with the frames' variables or the tasks serves the commands that
    do not ask for them; one read without them is read again when they are asked for);
    gdb.GdbError (one line) when there is nothing to read."""
    inferior, gdb_threads = _stopped_inferior()
    key = (inferior.num, inferior.pid, _memory.value if _memory is not None else "auto")
    if (_cache.get("key") != key or (with_locals and not _cache.get("locals"))
            or (with_tasks and not _cache.get("tasks")) or (with_locks and not _cache.get("locks"))):
        global extractions
        extractions += 1
        try:
            snap = _extract(inferior, gdb_threads, with_locals=with_locals, with_tasks=with_tasks,
                            with_locks=with_locks)
        except core.Error as error:
            snap = error
        _cache.update(key=key, snapshot=snap, locals=with_locals, tasks=with_tasks, locks=with_locks)
    return _cache["snapshot"]


def snapshot(with_locals=False, with_tasks=False, with_locks=False):
    """The inferior's Snapshot for this stop (with each frame's variables when `with_locals`,
    every asyncio task when `with_tasks`, the locks when `with_locks`); gdb.GdbError (one line)
    when there is none."""
    snap = _checked(_read(with_locals, with_tasks, with_locks))
    if _cache.get("tasks") and not with_tasks:
        snap = snap.without_tasks()
    if _cache.get("locks") and not with_locks:
        snap = snap.without_locks()
    return snap.without_locals() if _cache.get("locals") and not with_locals else snap


def object_snapshot(addresses, with_locals=False):
    """A Snapshot of the objects at `addresses` (read now: not cached); gdb.GdbError (one
    line) when there is no Python process to read."""
    global extractions
    inferior, gdb_threads = _stopped_inferior()
    extractions += 1
    try:
        return _extract(inferior, gdb_threads, addresses, with_locals=with_locals)
    except core.Error as error:
        return _checked(error)


def _checked(result):
    """`result` (a Snapshot), or gdb.GdbError (one line) for a core.Error."""
    if isinstance(result, core.NotPythonError):
        message = str(result)
        _fail(message if "not supported" in message else "not a Python process (%s)" % message)
    if isinstance(result, core.Error):
        _fail(str(result))
    return result


def _gdb_thread(number):
    return next((t for t in gdb.selected_inferior().threads() if t.num == number), None)


def _native_description(frame):
    name = frame.name() or "??"
    sal = frame.find_sal()
    if sal.symtab is not None and sal.line:
        return "%s at %s:%d" % (name, sal.symtab.filename, sal.line)
    library = gdb.solib_name(frame.pc()) or gdb.current_progspace().filename
    return "%s in %s" % (name, os.path.basename(library) if library else "0x%x" % frame.pc())


def _native_frames(thread):
    """The thread's native frames for Thread.tree(native=...), newest first: (description,
    _natives' tuple); None when gdb has no such thread."""
    gdb_thread = _gdb_thread(thread.debugger_thread)
    if gdb_thread is None:
        return None
    previous, previous_frame = gdb.selected_thread(), gdb.selected_frame()
    frames = []
    try:
        gdb_thread.switch()
        frame = gdb.newest_frame()
        while frame is not None and len(frames) < MAX_NATIVE_FRAMES:
            frames.append(frame)
            try:
                frame = frame.older()
            except gdb.error:
                break
        return list(zip(map(_native_description, frames), _natives(frames)))
    finally:
        previous.switch()
        if previous_frame.is_valid():
            previous_frame.select()


def _parse(argument, allow_number):
    """(OutputOptions, thread number or None): the options are the core's table, as the CLI's
    and lldb's (stackscope_core.parse_options)."""
    try:
        options, positional = core.parse_options("gdb", gdb.string_to_argv(argument))
    except core.UsageError as error:
        _fail("%s (see help py-stackscope)" % error)
    number = None
    for word in positional:
        if allow_number and number is None and word.isdigit():
            number = int(word)
        else:
            _fail("unexpected argument %r (see help py-stackscope)" % word)
    return options, number


def _run(argument, one_thread, with_tasks=False, with_locks=False):
    options, number = _parse(argument, allow_number=one_thread)
    snap = snapshot(with_locals=options.locals, with_tasks=with_tasks, with_locks=with_locks)
    indices = list(range(len(snap.threads)))
    if one_thread:
        number = number if number is not None else gdb.selected_thread().num
        indices = snap.threads_numbered(number)
        if not indices and _gdb_thread(number) is None:
            _fail("no thread %d in the inferior (see info threads)" % number)
        if not indices:
            _fail("thread %d (LWP %d) runs no Python code" % (number, _gdb_thread(number).ptid[1]))
    gdb.write(_render(snap, indices, options))
    _warn(snap, indices)


def _warn(snap, shown=None):
    """The core's warnings (as lldb's): what the CLI would exit 1 for."""
    for warning in snap.debugger_warnings(shown):
        gdb.write("warning: py-stackscope: %s\n" % warning, gdb.STDERR)


MAX_ADDRESS = 2**64 - 1


def _address(expression):
    """The address a gdb expression gives (0x7f..., an id() in decimal, $rdi, a pointer);
    gdb.GdbError (one line) when it gives none."""
    try:
        address = int(gdb.parse_and_eval(expression))
    except gdb.error as error:  # gdb.MemoryError too
        _object_usage("%r is not an address: %s" % (expression, str(error).rstrip(".")))
    except (ValueError, TypeError, OverflowError) as error:
        _object_usage("%r is not an address: %s" % (expression, error))
    if not 0 < address <= MAX_ADDRESS:
        _object_usage("%r is not an address: it gives %d" % (expression, address))
    return address


def _object_usage(message):
    _fail(message + " (see help py-stackscope object)", command="py-stackscope object")


def _run_objects(argument):
    try:
        options, expressions = core.parse_options("gdb", gdb.string_to_argv(argument))
    except core.UsageError as error:
        _object_usage(str(error))
    if options.native:
        _object_usage("-native shows gdb's frames of threads: an object has none")
    if not expressions:
        _object_usage("give the address of at least one object")
    addresses = [_address(expression) for expression in expressions]
    snap = object_snapshot(addresses, with_locals=options.locals)
    if options.no_contexts:
        snap = snap.without_contexts()
    if options.format == "json":
        text = snap.json(threads=[])  # the objects, without the process (gdb shows it), as for threads
    elif options.format == "flat":
        text = snap.debugger_text([o.flat(show_hidden=options.show_hidden, color=_color(options))
                                   for o in snap.objects], flat=True)
    else:
        text = snap.debugger_text([o.tree(ascii=options.ascii, show_hidden=options.show_hidden,
                                          color=_color(options)) for o in snap.objects])
    gdb.write(text)
    _warn(snap)


def _color(options):
    """Whether to colour the text: -color always or never, else (auto) when gdb styles its own
    output: `set style enabled` (off in batch mode, and, in newer gdbs, when NO_COLOR was set
    at start) on a terminal whose TERM is set and not "dumb", gdb's own test for its stdout.
    Never in JSON."""
    if options.format == "json":
        return False
    styled = bool(gdb.parameter("style enabled"))
    return core.use_color(options.color, styled and core.terminal_allows_color(os.isatty(1), None,
                                                                                os.environ.get("TERM")))


def _render(snap, indices, options):
    if options.no_contexts:
        snap = snap.without_contexts()
    if options.format == "json":
        return snap.json(threads=indices)
    color = _color(options)
    blocks = []
    for index in indices:
        thread = snap.threads[index]
        if options.format == "flat":
            body = thread.flat(show_hidden=options.show_hidden, color=color)
        else:
            native = _native_frames(thread) if options.native else None
            body = thread.tree(ascii=options.ascii, show_hidden=options.show_hidden, native=native, color=color)
        blocks.append(snap.debugger_header(index, color=color) + "\n" + body)
    # The core composes the rest (the tasks' and locks' text below the threads), as for lldb.
    return snap.debugger_text(blocks, flat=options.format == "flat", ascii=options.ascii,
                              show_hidden=options.show_hidden, color=color)


def _complete(text, word, extra=(), without=()):
    """Candidates for the last word of `text` (not the options `without`); gdb replaces only
    `word` (it breaks at '-')."""
    words = text.split()
    token = "" if text.endswith(" ") or not text else words.pop()
    cut = len(token) - len(word or "")
    candidates = [c for c in core.option_completions("gdb", words, token) if c not in without]
    if all(c.startswith("-") for c in candidates):  # not an option's value (-format's)
        candidates += [c for c in extra if c.startswith(token) and c not in words]
    return [c[cut:] for c in candidates]


_USAGE = core.options_usage("gdb")
_OBJECT_USAGE = _USAGE.replace(" [-native]", "")  # objects have no native frames


class _StackscopeCommand(gdb.Command):
    __doc__ = """Show the Python stack of every thread of the inferior, read by stackscope.

Usage: py-stackscope %s
       py-stackscope thread [N] [options]    (one thread; N is gdb's thread number, default the selected one)
       py-stackscope object EXPR [EXPR...] [options]    (suspended generators, coroutines, ... by address)
       py-stackscope tasks [options]    (every thread, then every asyncio task as trees of who awaits whom)
       py-stackscope locks [options]    (every thread, then the deadlocks and who holds and waits for each lock)

Each thread is headed with gdb's thread number and LWP: Thread 2 (LWP 4321) "worker":
%s-json adds debugger_thread (gdb's thread number) to each thread of stackscope's JSON;
-native lists gdb's frames in the tree, each followed by the Python frames it runs.
The options are the CLI's (one dash here, two there), and combine as they do there.

`bt` shows each thread's Python frames under the _PyEval_EvalFrameDefault frame running
them (frame filter "stackscope": disable frame-filter global stackscope).
`set py-stackscope-memory gdb` reads memory through gdb even where direct reads work.
Works on live processes and core files (load a core with its executable: gdb PYTHON CORE).""" % (
        _USAGE, core.options_help("gdb"))

    def __init__(self):
        super().__init__("py-stackscope", gdb.COMMAND_STACK, prefix=True)

    def invoke(self, argument, from_tty):
        _run(argument, one_thread=False)

    def complete(self, text, word):
        return _complete(text, word, extra=() if text.strip() else ("locks", "object", "tasks", "thread"))


class _ThreadCommand(gdb.Command):
    __doc__ = """Show the Python stack of one thread (default: the selected one), read by stackscope.

Usage: py-stackscope thread [N] %s
N is gdb's thread number (see `info threads`); options as for py-stackscope.""" % _USAGE

    def __init__(self):
        super().__init__("py-stackscope thread", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        _run(argument, one_thread=True)

    def complete(self, text, word):
        numbers = [] if any(w.isdigit() for w in text.split()) else [
            str(t.num) for t in gdb.selected_inferior().threads()]
        return _complete(text, word, extra=numbers)


class _ObjectCommand(gdb.Command):
    __doc__ = """Show the stacks of objects by address, read by stackscope.

Usage: py-stackscope object EXPR [EXPR...] %s
Each EXPR is a gdb expression giving an object's address: 0x7f3c2a1b2c40, a
decimal id(), $rdi, a PyObject pointer; quote one that has spaces.

A suspended generator, coroutine or async generator shows its frame, then the
frames of what it awaits (yield from, await), outermost first, and last the
object at the end of that chain (an asyncio Future, ...); a not-started one its
first line; an exhausted one no frames. An asyncio Task shows its coroutine's
stack, a Future only itself, a threading.Thread its thread's stack. Any other
object, or an address that is not an object, is shown with an error (and a
warning). Each object is headed as upstream stackscope prints
stackscope.extract(obj): stackscope.Stack of <coroutine object f at 0x...>.
Options as for py-stackscope (-native does not apply); -json prints the
objects as stackscope pid PID --object ADDR does (its "objects", "threads": []).""" % _OBJECT_USAGE

    def __init__(self):
        super().__init__("py-stackscope object", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        _run_objects(argument)

    def complete(self, text, word):
        words = text.split()
        token = "" if text.endswith(" ") or not text else words.pop()
        if token and not token.startswith("-") and words[-1:] not in (["-format"], ["-color"]):
            return getattr(gdb, "COMPLETE_EXPRESSION", [])  # an EXPR: gdb completes it as an expression
        return _complete(text, word, without=("-native",))


class _TasksCommand(gdb.Command):
    __doc__ = """Show every thread, then every asyncio task of every event loop, read by stackscope.

Usage: py-stackscope tasks %s
The CLI's --tasks: the threads as py-stackscope shows them, then per event
loop a header (Event loop 0x... on thread TID "NAME": N tasks) and its root
tasks as trees, each headed stackscope.Stack of <Task pending name=... coro=...>
("no event loops" when there are none). A task awaited by another (directly,
through gather or shield, or as a TaskGroup child) hangs under the awaiting
frame: under its TaskGroup's async with, else under the awaiting line marked
"# awaits N tasks"; it is shown in full under its lowest-id awaiter, named under
the others, and never again as a root. A thread's header names the task its
loop is running. Tasks are those asyncio.all_tasks() would return, on every
loop, live or from a core; a warning says when some could not be read in full.
Options as for py-stackscope; -json prints the CLI's --tasks JSON ("tasks",
and each thread's "running_task") with debugger_thread, without "process".""" % _USAGE

    def __init__(self):
        super().__init__("py-stackscope tasks", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        _run(argument, one_thread=False, with_tasks=True)

    def complete(self, text, word):
        return _complete(text, word)


class _LocksCommand(gdb.Command):
    __doc__ = """Show every thread, then who holds which lock and who waits for it, read by stackscope.

Usage: py-stackscope locks %s
The CLI's --locks: the threads as py-stackscope shows them (a with-block whose
manager is a lock says its state: [locked], [held by thread TID "NAME", count 2]),
then each deadlock (a cycle of threads or asyncio tasks each waiting for a lock
the next one holds: "Deadlock: 2 threads", a line per member with where it took
the lock it holds and where it waits), then each lock held or waited for
(threading's Lock, RLock, Condition, Semaphore; asyncio's Lock, Semaphore,
Event, Condition) with its holders and waiters, and the threads blocked on a
lock no rule identifies ("waits on an unidentified lock"). Live or from a core.
Options as for py-stackscope; -json prints the CLI's --locks JSON ("locks",
"deadlocks", "unidentified_waits") with debugger_thread, without "process".""" % _USAGE

    def __init__(self):
        super().__init__("py-stackscope locks", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        _run(argument, one_thread=False, with_locks=True)

    def complete(self, text, word):
        return _complete(text, word)


class _PythonFrame(FrameDecorator):
    """A Python frame, shown (elided) under the eval-loop frame that runs it."""

    def __init__(self, eval_frame, frame):
        super().__init__(eval_frame)
        self.function = lambda: frame.function
        self.filename = lambda: frame.filename
        self.line = lambda: frame.line

    def address(self):
        return None

    frame_args = frame_locals = elided = address


class _Unnamed(FrameDecorator):
    """A frame without debug info: named from its minimal symbol, or `??` as gdb prints it
    without filters (FrameDecorator's address makes gdb print `in  ()` when there is none)."""

    def function(self):
        function = super().function()
        if isinstance(function, str):
            return function
        try:
            return self.inferior_frame().name() or "??"
        except Exception:
            return "??"


class _EvalFrame(_Unnamed):
    def __init__(self, base, frames):
        super().__init__(base)
        self._frames = frames

    def elided(self):
        own = [_PythonFrame(self.inferior_frame(), f) for f in self._frames]
        return itertools.chain(own, super().elided() or ())


def _looks_like_python():
    """Whether the inferior maps a python / libpython file (the core's own rule)."""
    inferior = gdb.selected_inferior()
    key = (inferior.num, inferior.pid)
    if _cache.get("python_key") != key:
        _cache.update(python_key=key, python=inferior.pid != 0 and any(
            core.is_python_file(o.filename or "") for o in gdb.objfiles()))
    return _cache["python"]


def _filter_bug(error):
    """A bug the frame filter swallowed: counted; the first one is reported in one line."""
    global frame_filter_errors
    frame_filter_errors += 1
    if frame_filter_errors == 1:
        gdb.write("warning: py-stackscope: the bt frame filter failed, bt shows gdb's frames only "
                  "(a bug in stackscope, please report it): %s: %s\n" % (type(error).__name__, error), gdb.STDERR)


class _FrameFilter:
    """Python frames inside `bt` (and MI stack listings).  Never raises; enabled only for
    inferiors that look like Python, so that gdb prints every other backtrace itself.  What
    gdb or the target cannot give (no snapshot, not a Python process, an unwinding error)
    leaves gdb's frames as they are; a bug is counted in frame_filter_errors and reported once."""

    def __init__(self):
        self.name = "stackscope"
        self.priority = 100
        self.wanted = True

    @property
    def enabled(self):
        try:
            return self.wanted and _looks_like_python()
        except gdb.error:
            return False
        except Exception as error:
            _filter_bug(error)
            return False

    @enabled.setter
    def enabled(self, value):
        self.wanted = bool(value)

    def filter(self, frames):
        head, placed = [], None
        try:
            result = _read()
            if isinstance(result, core.InternalError):
                raise result
            if isinstance(result, core.Error):
                return frames  # not a Python process (any more), or unreadable: gdb's own bt
            # The core's matching (by LWP, else by pthread_t: a process in another PID namespace).
            numbered = result.threads_numbered(gdb.selected_thread().num)
            if not numbered:
                return frames
            thread = result.threads[numbered[0]]
            for decorator in itertools.islice(frames, MAX_NATIVE_FRAMES):  # gdb unwinds them for bt anyway
                head.append(decorator)
            calls, python = thread.eval_calls(), thread.frames
            placed = thread.place_eval_calls(_natives([decorator.inferior_frame() for decorator in head]))
            if placed is not None:
                # Built here, inside the try: nothing of the filter runs later while gdb iterates.
                decorated = [_EvalFrame(decorator, [python[i] for i in calls[call]])
                             if call is not None else _Unnamed(decorator) for decorator, call in zip(head, placed)]
                return itertools.chain(decorated, frames)
        except (gdb.error, gdb.GdbError):
            pass  # gdb could not unwind or read, or there is nothing to read: not a bug
        except Exception as error:
            _filter_bug(error)
        return itertools.chain(head, frames)


def register():
    """Adds the parameter, the commands, the frame filter and the cache's event handlers to
    gdb; only the first call does anything.  Returns the frame filter."""
    global _memory
    if _registered:
        return _registered[0]
    for name in CACHE_EVENTS:
        if hasattr(gdb.events, name):
            getattr(gdb.events, name).connect(lambda *_event: _cache.clear())
    _memory = _MemoryParameter()
    _StackscopeCommand()
    _ThreadCommand()
    _ObjectCommand()
    _TasksCommand()
    _LocksCommand()
    frame_filter = _FrameFilter()
    gdb.frame_filters[frame_filter.name] = frame_filter
    _registered.append(frame_filter)
    return frame_filter


_registered = []
