"""The GDB front-end's glue (gdb/stackscope_gdb.py) outside gdb: plain python3.11 (the Python
gdb embeds, so that the real stackscope_core loads) with a stand-in `gdb` module.

Registration (nothing at import; register() adds the parameter, the commands, the frame
filter and the cache's event handlers, once), how the inferior is described to the core
(from_debugger), `py-stackscope object` (its expressions, options and output), `py-stackscope
tasks` (threads, then the tasks' text; a warning when partial), and the frame
filter: it never raises, leaves what is not a bug alone, and
counts a bug it swallows in frame_filter_errors, reporting the first in one warning line.

Run by ctest (tests/unit/CMakeLists.txt: gdb_glue) with PYTHONPATH=build/gdb."""
import os
import shlex
import sys
import types
import unittest


class FakeGdb(types.ModuleType):
    """What the glue uses of gdb's module, recording what is registered and written."""

    def __init__(self):
        super().__init__("gdb")
        fake = self

        class error(RuntimeError):
            pass

        class GdbError(Exception):
            pass

        class Command:
            def __init__(self, name, command_class, completer_class=None, prefix=False):
                fake.commands.append(name)

        class Parameter:
            def __init__(self, name, command_class, parameter_class, enum_sequence=None):
                fake.parameters.append(name)
                self.value = None

        class Registry:
            def __init__(self):
                self.handlers = []

            def connect(self, handler):
                self.handlers.append(handler)

        self.error, self.GdbError, self.MemoryError = error, GdbError, type("MemoryError", (error,), {})
        self.Command, self.Parameter = Command, Parameter
        self.COMMAND_DATA, self.COMMAND_STACK, self.PARAM_ENUM, self.STDOUT, self.STDERR = 1, 2, 3, 0, 2
        self.events = types.SimpleNamespace(**{name: Registry() for name in (
            "cont", "exited", "new_objfile", "clear_objfiles", "memory_changed", "inferior_call", "stop")})
        self.commands, self.parameters, self.frame_filters, self.written = [], [], {}, []
        self.string_to_argv = shlex.split
        self.inferior = None
        self.info_target = ""
        self.solib_search_path = ""
        self.progspace = types.SimpleNamespace(filename="/usr/bin/python3.11")
        self.values = {}  # parse_and_eval: expression -> value (an int, or an exception to raise)

    def write(self, text, stream=0):
        self.written.append((text, stream))

    def selected_inferior(self):
        return self.inferior

    def selected_thread(self):
        return self.inferior.threads()[0]

    def execute(self, command, to_string=False):
        if command == "info target":
            return self.info_target
        raise self.error("not in this test: " + command)

    def parameter(self, name):
        return self.solib_search_path if name == "solib-search-path" else None

    def current_progspace(self):
        return self.progspace

    def parse_and_eval(self, expression):
        value = self.values.get(expression, self.error("No symbol \"%s\" in current context." % expression))
        if isinstance(value, Exception):
            raise value
        return value


class FrameDecorator:
    def __init__(self, base):
        self._base = base

    def inferior_frame(self):
        return self._base.inferior_frame()

    def function(self):
        return self._base.function()

    def elided(self):
        return None


class FakeThread:
    def __init__(self, num, lwp, handle=None, registers=None):
        self.num, self.ptid, self._handle, self._registers = num, (1000, lwp, 0), handle, registers

    def is_running(self):
        return False

    def handle(self):
        if self._handle is None:
            raise RuntimeError("no libthread_db")
        return self._handle

    def is_valid(self):
        return True

    def switch(self):
        FAKE.current_thread = self


class FakeInferior:
    def __init__(self, kind, threads, pid=4321):
        self.num, self.pid, self._threads = 1, pid, threads
        self.connection = types.SimpleNamespace(type=kind)

    def threads(self):
        return self._threads

    def read_memory(self, address, size):
        return b"\0" * size


FAKE = FakeGdb()
sys.modules["gdb"] = FAKE
decorators = types.ModuleType("gdb.FrameDecorator")
decorators.FrameDecorator = FrameDecorator
sys.modules["gdb.FrameDecorator"] = decorators
FAKE.FrameDecorator = decorators

import stackscope_core as core  # noqa: E402  (the real core, built for this Python)
import stackscope_gdb as glue  # noqa: E402

AT_IMPORT = (list(FAKE.commands), list(FAKE.parameters), dict(FAKE.frame_filters),
             sum(len(r.handlers) for r in vars(FAKE.events).values()))


class Registration(unittest.TestCase):
    def test_import_registers_nothing_and_register_everything_once(self):
        self.assertEqual(AT_IMPORT, ([], [], {}, 0))
        frame_filter = glue.register()
        self.assertEqual(FAKE.commands, ["py-stackscope", "py-stackscope thread", "py-stackscope object",
                                         "py-stackscope tasks", "py-stackscope locks"])
        self.assertEqual(FAKE.parameters, ["py-stackscope-memory"])
        self.assertIs(FAKE.frame_filters["stackscope"], frame_filter)
        self.assertEqual(glue._memory.value, "auto")
        for name, registry in vars(FAKE.events).items():
            self.assertEqual(len(registry.handlers), 1 if name in glue.CACHE_EVENTS else 0, name)
        # Sourcing stackscope-gdb.py again registers nothing more.
        self.assertIs(glue.register(), frame_filter)
        self.assertEqual(FAKE.commands, ["py-stackscope", "py-stackscope thread", "py-stackscope object",
                                         "py-stackscope tasks", "py-stackscope locks"])
        self.assertEqual(len(FAKE.events.cont.handlers), 1)
        # The events drop the cached extraction.
        glue._cache["key"] = "a stop"
        FAKE.events.cont.handlers[0](object())
        self.assertEqual(glue._cache, {})


class Extraction(unittest.TestCase):
    def setUp(self):
        glue.register()
        self.calls = []
        self.original = core.from_debugger
        core.from_debugger = lambda *args, **kwargs: self.calls.append((args, kwargs)) or "snapshot"
        glue._cache.clear()
        glue._memory.value = "auto"

    def tearDown(self):
        core.from_debugger = self.original
        glue._cache.clear()
        glue._memory.value = "auto"

    def test_a_core_is_named_to_the_core_with_its_executable_and_search_path(self):
        FAKE.inferior = FakeInferior("core", [FakeThread(1, 11, handle=b"\x00\x07\x60\xf7\xff\x7f\x00\x00")])
        FAKE.info_target = "Local core dump file:\n\t`/tmp/core.4321', file type elf64-x86-64.\n"
        FAKE.solib_search_path = "/a::/b"
        before = glue.extractions
        self.assertEqual(glue.snapshot(), "snapshot")
        self.assertEqual(glue.snapshot(), "snapshot")  # cached: one extraction per stop
        self.assertEqual(glue.extractions, before + 1)
        (args, kwargs), = self.calls
        self.assertEqual(args[:2], ("core", 4321))
        self.assertEqual(kwargs["core_path"], "/tmp/core.4321")
        self.assertEqual(kwargs["executable"], "/usr/bin/python3.11")
        self.assertEqual(kwargs["lib_search_path"], ["/a", "/b"])
        self.assertEqual(kwargs["memory"], "auto")
        threads = args[2]
        self.assertEqual(threads(False), [(1, 11, b"\x00\x07\x60\xf7\xff\x7f\x00\x00")])

    def test_through_gdb_the_threads_carry_their_raw_registers(self):
        class Frame:
            def read_register(self, name):
                return {"orig_rax": -1, "rdi": -2}[name]

            def is_valid(self):
                return True

            def select(self):
                pass

        FAKE.newest_frame = FAKE.selected_frame = lambda: Frame()
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11), FakeThread(2, 12, handle=b"\1\2")])
        glue._memory.value = "gdb"
        glue.snapshot()
        (args, kwargs), = self.calls
        self.assertEqual(kwargs["memory"], "debugger")
        self.assertEqual(kwargs["core_path"], "")
        self.assertEqual(args[2](True), [(1, 11, None, -1, -2, None), (2, 12, b"\1\2", -1, -2, None)])
        # ... which the core decodes (and a 2-byte handle is no pthread_t):
        self.assertEqual(core.kernel_view(-1, -2), (-1, 2**64 - 2))
        self.assertIsNone(core.pthread_from_handle(b"\1\2"))
        self.assertEqual(core.pthread_from_handle(b"\x00\x07\x60\xf7\xff\x7f\x00\x00"), 0x7FFFF7600700)

    def test_a_thread_in_restart_syscall_also_carries_its_dwarf_registers(self):
        """Only then: the core names the call it resumed from them (issue 18)."""
        names = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
                 "r14", "r15", "rip")

        class Frame:
            def read_register(self, name):
                return 219 if name == "orig_rax" else -1 - names.index(name)

            def is_valid(self):
                return True

            def select(self):
                pass

        FAKE.newest_frame = FAKE.selected_frame = lambda: Frame()
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])
        glue._memory.value = "gdb"
        glue.snapshot()
        (args, kwargs), = self.calls
        registers = [2**64 - 1 - i for i in range(17)]  # as unsigned 64-bit values, in DWARF's order
        self.assertEqual(args[2](True), [(1, 11, None, 219, -6, registers)])

    def test_locals_are_read_when_asked_and_the_snapshot_then_serves_both(self):
        """-locals reads the stop again with the frames' variables (an extraction without them
        cannot give them); that snapshot then serves later commands, without its variables
        for those that do not ask, and the bt frame filter as it is."""

        class Snap:
            def __init__(self, with_locals):
                self.with_locals = with_locals

            def without_locals(self):
                return Snap(False)

        core.from_debugger = lambda *args, **kwargs: self.calls.append((args, kwargs)) or Snap(kwargs["locals"])
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])
        before = glue.extractions
        self.assertFalse(glue.snapshot().with_locals)
        self.assertTrue(glue.snapshot(with_locals=True).with_locals)
        self.assertTrue(glue.snapshot(with_locals=True).with_locals)
        self.assertFalse(glue.snapshot().with_locals)
        self.assertTrue(glue._read().with_locals)
        self.assertEqual(glue.extractions, before + 2)
        self.assertEqual([kwargs["locals"] for _, kwargs in self.calls], [False, True])

    def test_tasks_are_read_when_asked_and_the_snapshot_then_serves_every_command(self):
        """`py-stackscope tasks` reads the stop again with the tasks; that snapshot then serves
        later commands, without its tasks (or variables) for those that do not ask."""

        class Snap:
            def __init__(self, with_locals, with_tasks):
                self.with_locals, self.with_tasks = with_locals, with_tasks

            def without_locals(self):
                return Snap(False, self.with_tasks)

            def without_tasks(self):
                return Snap(self.with_locals, False)

        core.from_debugger = lambda *args, **kwargs: self.calls.append((args, kwargs)) or Snap(
            kwargs["locals"], kwargs["tasks"])
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])
        before = glue.extractions
        self.assertFalse(glue.snapshot().with_tasks)
        got = glue.snapshot(with_tasks=True)
        self.assertEqual((got.with_tasks, got.with_locals), (True, False))
        self.assertTrue(glue.snapshot(with_tasks=True).with_tasks)
        got = glue.snapshot()
        self.assertEqual((got.with_tasks, got.with_locals), (False, False))
        got = glue.snapshot(with_locals=True)  # the tasks' snapshot has no variables: read again
        self.assertEqual((got.with_tasks, got.with_locals), (False, True))
        got = glue.snapshot(with_tasks=True, with_locals=True)  # ... and one without tasks serves no tasks
        self.assertEqual((got.with_tasks, got.with_locals), (True, True))
        got = glue.snapshot(with_tasks=True)  # that one serves the tasks without variables
        self.assertEqual((got.with_tasks, got.with_locals), (True, False))
        got = glue.snapshot()
        self.assertEqual((got.with_tasks, got.with_locals), (False, False))
        self.assertEqual(glue.extractions, before + 4)
        self.assertEqual([(kwargs["locals"], kwargs["tasks"]) for _, kwargs in self.calls],
                         [(False, False), (False, True), (True, False), (True, True)])

    def test_a_core_error_is_one_line(self):
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])
        core.from_debugger = lambda *args, **kwargs: (_ for _ in ()).throw(core.NotPythonError("no Python runtime found"))
        with self.assertRaises(FAKE.GdbError) as raised:
            glue.snapshot()
        self.assertEqual(str(raised.exception), "py-stackscope: not a Python process (no Python runtime found)")


class FakeObject:
    def __init__(self, name):
        self.name = name

    def tree(self, ascii=False, show_hidden=False, color=False):
        return "tree of %s%s%s%s\n" % (self.name, " ascii" if ascii else "", " hidden" if show_hidden else "",
                                        " color" if color else "")

    def flat(self, show_hidden=False, color=False):
        return "flat of %s%s%s\n" % (self.name, " hidden" if show_hidden else "", " color" if color else "")


class FakeObjectSnapshot:
    def __init__(self, objects, partial=False):
        self.objects, self.partial = [FakeObject(hex(a)) for a in objects], partial

    def json(self, threads=None):
        assert threads == [], "the objects' JSON has no threads, nor the process (gdb shows it)"
        return '{"objects": %d}\n' % len(self.objects)

    # The core's composition (test_debugger.cpp tests it), as the core composes objects.
    def debugger_text(self, blocks, flat=False, ascii=False, show_hidden=False, color=False):
        return "\n".join(blocks)

    def debugger_warnings(self, shown=None):
        return ["some objects could not be read completely (see their errors)"] if self.partial else []


class FakeTasksThread:
    def tree(self, ascii=False, show_hidden=False, native=None, color=False):
        return "thread tree\n"

    def flat(self, show_hidden=False, color=False):
        return "thread flat\n"


class FakeTasksSnapshot:
    """What `py-stackscope tasks` uses of a Snapshot read with tasks=True."""

    def __init__(self, partial=False):
        self.threads, self.partial, self.tasks_asked = [FakeTasksThread()], partial, True
        self.locks_asked = False

    def debugger_header(self, index, color=False):
        return "Thread 1 (LWP 11) (running task 'main'):"

    def tasks_tree(self, ascii=False, show_hidden=False, color=False):
        return "\nEvent loop 0x10 on thread 11: 1 tasks\ntask tree%s\n" % (" ascii" if ascii else "")

    def tasks_flat(self, show_hidden=False, color=False):
        return "\nEvent loop 0x10 on thread 11: 1 tasks\ntask flat\n"

    def json(self, threads=None):
        return '{"threads": %r, "tasks": 1}\n' % (threads,)

    # The core's composition (test_debugger.cpp tests it), as the core composes threads and tasks.
    def debugger_text(self, blocks, flat=False, ascii=False, show_hidden=False, color=False):
        return "\n".join(blocks) + (self.tasks_flat(show_hidden, color) if flat else
                                    self.tasks_tree(ascii, show_hidden, color))

    def debugger_warnings(self, shown=None):
        self.shown = shown
        return ["some threads or tasks could not be read completely (see their errors)"] if self.partial else []


class TasksCommand(unittest.TestCase):
    """`py-stackscope tasks`: the threads with gdb's headers, then the tasks' text; one read
    with tasks=True per stop; a warning when something could not be read."""

    def setUp(self):
        glue.register()
        self.calls, self.partial = [], False
        self.original = core.from_debugger
        core.from_debugger = lambda *args, **kwargs: self.calls.append((args, kwargs)) or FakeTasksSnapshot(
            self.partial)
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])
        FAKE.written.clear()
        glue._cache.clear()

    def tearDown(self):
        core.from_debugger = self.original
        glue._cache.clear()

    def output(self, stream):
        return "".join(text for text, written_to in FAKE.written if written_to == stream)

    def test_threads_then_tasks_in_one_read(self):
        glue._run("", one_thread=False, with_tasks=True)
        glue._run("-ascii", one_thread=False, with_tasks=True)
        (args, kwargs), = self.calls
        self.assertTrue(kwargs["tasks"])
        self.assertEqual(self.output(FAKE.STDOUT), (
            "Thread 1 (LWP 11) (running task 'main'):\nthread tree\n\nEvent loop 0x10 on thread 11: 1 tasks\n"
            "task tree\n"
            "Thread 1 (LWP 11) (running task 'main'):\nthread tree\n\nEvent loop 0x10 on thread 11: 1 tasks\n"
            "task tree ascii\n"))
        self.assertEqual(self.output(FAKE.STDERR), "")

    def test_flat_and_json(self):
        glue._run("-flat", one_thread=False, with_tasks=True)
        self.assertEqual(self.output(FAKE.STDOUT), "Thread 1 (LWP 11) (running task 'main'):\nthread flat\n\n"
                                                   "Event loop 0x10 on thread 11: 1 tasks\ntask flat\n")
        FAKE.written.clear()
        glue._run("-json", one_thread=False, with_tasks=True)
        self.assertEqual(self.output(FAKE.STDOUT), '{"threads": [0], "tasks": 1}\n')

    def test_a_partial_read_is_warned_about(self):
        self.partial = True
        glue._run("", one_thread=False, with_tasks=True)
        self.assertEqual(self.output(FAKE.STDERR), "warning: py-stackscope: some threads or tasks could not be read "
                                                   "completely (see their errors)\n")

    def test_every_command_writes_the_cores_warnings_and_no_threads_is_not_a_failure(self):
        """As lldb's: the core's warnings (no threads, a partial read of the threads shown), one
        line each, for every command; no threads is a warning, not a failure."""
        snap = FakeTasksSnapshot()
        snap.debugger_warnings = lambda shown=None: snap.__dict__.update(shown=shown) or ["first", "second"]
        original = core.from_debugger
        core.from_debugger = lambda *args, **kwargs: snap
        try:
            glue._run("", one_thread=False)
            self.assertEqual(snap.shown, [0])
            self.assertEqual(self.output(FAKE.STDERR), "warning: py-stackscope: first\nwarning: py-stackscope: second\n")
            FAKE.written.clear()
            snap.threads = []
            glue._run("", one_thread=False)
            self.assertEqual(snap.shown, [])
            self.assertEqual(self.output(FAKE.STDERR), "warning: py-stackscope: first\nwarning: py-stackscope: second\n")
        finally:
            core.from_debugger = original

    def test_the_tasks_option_is_the_clis(self):
        with self.assertRaises(FAKE.GdbError) as raised:
            glue._run("-tasks", one_thread=False, with_tasks=True)
        self.assertTrue(str(raised.exception).startswith("py-stackscope: unknown option '-tasks'"), raised.exception)
        self.assertEqual(self.calls, [])


class ObjectCommand(unittest.TestCase):
    """`py-stackscope object EXPR...`: gdb evaluates each EXPR; the core reads the objects
    (from_debugger's objects, not cached); each object's stack is printed as the CLI does."""

    def setUp(self):
        glue.register()
        self.calls, self.partial = [], False
        self.original = core.from_debugger
        core.from_debugger = lambda *args, **kwargs: self.calls.append((args, kwargs)) or FakeObjectSnapshot(
            kwargs["objects"], self.partial)
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])
        FAKE.values = {"0x7f0010": 0x7F0010, "140000": 140000, "$rdi": 0x7F0020, "$zero": 0, "$minus": -8,
                       "a_struct": FAKE.error("Cannot convert value to long.")}
        FAKE.written.clear()
        glue._cache.clear()

    def tearDown(self):
        core.from_debugger = self.original
        glue._cache.clear()

    def run_command(self, argument):
        glue._run_objects(argument)
        return "".join(text for text, stream in FAKE.written if stream == FAKE.STDOUT)

    def failure(self, argument):
        with self.assertRaises(FAKE.GdbError) as raised:
            glue._run_objects(argument)
        self.assertEqual(self.calls, [])
        return str(raised.exception)

    def test_each_expression_is_an_address_read_in_one_extraction(self):
        before = glue.extractions
        text = self.run_command("0x7f0010 140000 $rdi")
        (args, kwargs), = self.calls
        self.assertEqual(kwargs["objects"], [0x7F0010, 140000, 0x7F0020])
        self.assertEqual(glue.extractions, before + 1)
        self.assertEqual(text, "tree of 0x7f0010\n\ntree of 0x222e0\n\ntree of 0x7f0020\n")
        self.run_command("0x7f0010")
        self.assertEqual(len(self.calls), 2)  # read again: objects are not cached

    def test_options_as_for_threads(self):
        self.assertEqual(self.run_command("-json 0x7f0010 $rdi"), '{"objects": 2}\n')
        FAKE.written.clear()
        self.assertEqual(self.run_command("0x7f0010 -flat -show-hidden"), "flat of 0x7f0010 hidden\n")
        FAKE.written.clear()
        self.assertEqual(self.run_command("-ascii 0x7f0010"), "tree of 0x7f0010 ascii\n")
        FAKE.written.clear()
        self.assertEqual(self.run_command("-flat -color always 0x7f0010"), "flat of 0x7f0010 color\n")

    def test_an_object_with_an_error_is_printed_and_warned_about(self):
        self.partial = True
        self.assertEqual(self.run_command("0x7f0010"), "tree of 0x7f0010\n")
        self.assertEqual([text for text, stream in FAKE.written if stream == FAKE.STDERR], [
            "warning: py-stackscope: some objects could not be read completely (see their errors)\n"])

    def test_bad_arguments_are_one_line_errors(self):
        see = " (see help py-stackscope object)"
        self.assertEqual(self.failure("nosuch"), "py-stackscope object: 'nosuch' is not an address: "
                                                 "No symbol \"nosuch\" in current context" + see)
        self.assertEqual(self.failure("0x7f0010 a_struct"),
                         "py-stackscope object: 'a_struct' is not an address: Cannot convert value to long" + see)
        self.assertEqual(self.failure("$zero"), "py-stackscope object: '$zero' is not an address: it gives 0" + see)
        self.assertEqual(self.failure("$minus"), "py-stackscope object: '$minus' is not an address: it gives -8" + see)
        self.assertEqual(self.failure(""), "py-stackscope object: give the address of at least one object" + see)
        self.assertEqual(self.failure("0x7f0010 -native"),
                         "py-stackscope object: -native shows gdb's frames of threads: an object has none" + see)
        self.assertEqual(self.failure("0x7f0010 -bogus"), "py-stackscope object: unknown option '-bogus'" + see)

    def test_completion_offers_options_but_native_and_expressions_to_gdb(self):
        command = glue._ObjectCommand.__new__(glue._ObjectCommand)
        FAKE.COMPLETE_EXPRESSION = 5
        try:
            self.assertEqual(command.complete("", ""), ["-format", "-flat", "-json", "-ascii", "-color", "-show-hidden", "-no-contexts",
                                                      "-locals"])
            self.assertEqual(command.complete("0x10 -color a", "a"), ["auto", "always"])
            self.assertEqual(command.complete("0x10 -a", "a"), ["ascii"])
            self.assertEqual(command.complete("-format ", ""), ["tree", "flat", "json"])
            self.assertEqual(command.complete("my_var", "my_var"), 5)
        finally:
            del FAKE.COMPLETE_EXPRESSION


class FrameFilter(unittest.TestCase):
    """The frame filter never raises; a bug it swallows is counted and reported once."""

    def setUp(self):
        self.filter = glue.register()
        self.original_read = glue._read
        self.original_python = glue._looks_like_python
        FAKE.written.clear()
        glue.frame_filter_errors = 0
        FAKE.inferior = FakeInferior("native", [FakeThread(1, 11)])

    def tearDown(self):
        glue._read = self.original_read
        glue._looks_like_python = self.original_python
        glue.frame_filter_errors = 0

    def run_filter(self, read):
        glue._read = read
        frames = ["frame 0", "frame 1"]
        return list(self.filter.filter(iter(frames)))

    def test_a_bug_is_counted_and_reported_once(self):
        def bug():
            raise TypeError("a bug in the glue")

        for _ in range(3):
            self.assertEqual(self.run_filter(bug), ["frame 0", "frame 1"])
        self.assertEqual(glue.frame_filter_errors, 3)
        self.assertEqual(len(FAKE.written), 1, FAKE.written)
        text, stream = FAKE.written[0]
        self.assertEqual(stream, FAKE.STDERR)
        self.assertEqual(text.count("\n"), 1)
        self.assertTrue(text.startswith("warning: py-stackscope: the bt frame filter failed"), text)
        self.assertIn("TypeError: a bug in the glue", text)

    def test_an_internal_error_of_the_core_is_a_bug(self):
        self.assertEqual(self.run_filter(lambda: core.InternalError("the core's bug")), ["frame 0", "frame 1"])
        self.assertEqual(glue.frame_filter_errors, 1)
        self.assertIn("InternalError: the core's bug", FAKE.written[0][0])

    def test_what_is_not_a_bug_is_not_counted(self):
        def no_process():
            raise FAKE.GdbError("py-stackscope: no process")

        def unreadable():
            raise FAKE.MemoryError("Cannot access memory at address 0x0")

        for read in (no_process, unreadable, lambda: core.NotPythonError("no runtime"),
                     lambda: core.UnreadableMemoryError("at 0x10")):
            self.assertEqual(self.run_filter(read), ["frame 0", "frame 1"])
        self.assertEqual(glue.frame_filter_errors, 0)
        self.assertEqual(FAKE.written, [])

    def test_enabled_never_raises(self):
        def broken():
            raise RuntimeError("objfiles")

        def no_objfiles():
            raise FAKE.error("No symbol table is loaded.")

        glue._looks_like_python = no_objfiles
        self.assertFalse(self.filter.enabled)
        self.assertEqual(glue.frame_filter_errors, 0)
        glue._looks_like_python = broken
        self.assertFalse(self.filter.enabled)
        self.assertFalse(self.filter.enabled)
        self.assertEqual(glue.frame_filter_errors, 2)
        self.assertEqual(len(FAKE.written), 1)
        self.assertIn("RuntimeError: objfiles", FAKE.written[0][0])
        glue._looks_like_python = lambda: True
        self.assertTrue(self.filter.enabled)
        self.filter.enabled = False
        self.assertFalse(self.filter.enabled)
        self.filter.enabled = True


def interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt  # what gdb raises when the user presses Ctrl-C inside a call into it


class Interrupts(unittest.TestCase):
    """A Ctrl-C inside a callback (gdb raises KeyboardInterrupt from read_memory, execute, ...)
    stops the read: it propagates out of the core, is not taken for unreadable memory, and
    leaves nothing cached for the stop."""

    def read_zeros(self, address, size):
        return b"\0" * size

    def extract(self, **callbacks):
        arguments = dict(read=self.read_zeros, regions=[], lookup_symbol=lambda name: None)
        arguments.update(callbacks)
        return core.from_debugger("remote", 4321, lambda with_registers: [], arguments.pop("read"),
                                  sources=False, **arguments)

    def test_the_core_lets_it_through_every_callback(self):
        self.assertRaises(core.NotPythonError, self.extract)  # nothing interrupted: nothing found
        for callback in ("read", "regions", "lookup_symbol"):
            with self.subTest(callback=callback), self.assertRaises(KeyboardInterrupt):
                self.extract(**{callback: interrupt}, **({"lookup_symbol": lambda name: 0x1000}
                                                         if callback == "read" else {}))

    def test_the_glue_caches_nothing(self):
        glue.register()
        original = core.from_debugger
        core.from_debugger = interrupt
        FAKE.inferior = FakeInferior("remote", [FakeThread(1, 11)])
        glue._cache.clear()
        try:
            with self.assertRaises(KeyboardInterrupt):
                glue.snapshot()
            self.assertNotIn("snapshot", glue._cache)
        finally:
            core.from_debugger = original
            glue._cache.clear()


class FakeFrame:
    def __init__(self, name):
        self._name = name

    def name(self):
        return self._name

    def read_register(self, register):
        raise FAKE.error("no registers here")


class FakeFilterThread:
    """A 3.11+ thread read from another PID namespace: its tid is not gdb's LWP, the core
    matched it to gdb's thread 1 by its pthread_t."""

    def __init__(self):
        self.tid, self.debugger_thread = 99, 1
        self.frames = [types.SimpleNamespace(function="handler", filename="app.py", line=7)]

    def eval_calls(self):
        return [[0]]

    def place_eval_calls(self, natives):
        return [0, None]


class FakeFilterSnapshot:
    def __init__(self):
        self.threads = [FakeFilterThread()]

    def threads_numbered(self, number):
        return [i for i, t in enumerate(self.threads) if t.debugger_thread == number]


class FrameFilterThreads(unittest.TestCase):
    """`bt` finds the selected thread's Python frames as py-stackscope does: by the core's
    matching of gdb's threads (LWP, else pthread_t), not by LWP alone."""

    def setUp(self):
        self.filter = glue.register()
        self.original_read = glue._read
        FAKE.inferior = FakeInferior("remote", [FakeThread(1, 11)])
        glue.frame_filter_errors = 0

    def tearDown(self):
        glue._read = self.original_read

    def test_a_thread_matched_by_pthread_gets_its_python_frames(self):
        glue._read = FakeFilterSnapshot
        frames = [FrameDecorator(types.SimpleNamespace(inferior_frame=lambda name=name: FakeFrame(name),
                                                       function=lambda name=name: name))
                  for name in ("_PyEval_EvalFrameDefault", "main")]
        shown = list(self.filter.filter(iter(frames)))
        self.assertEqual(glue.frame_filter_errors, 0)
        self.assertIsInstance(shown[0], glue._EvalFrame)
        self.assertEqual([(f.function(), f.filename(), f.line()) for f in shown[0].elided()],
                         [("handler", "app.py", 7)])
        self.assertEqual(shown[1].function(), "main")


class SymbolLookup(unittest.TestCase):
    """Symbols are looked up with a C expression, in C whatever the selected frame's language
    (Rust's parser rejects it), and gdb's language setting is left as it was."""

    def setUp(self):
        self.language, self.executed = "auto", []
        self.saved = FAKE.parameter, FAKE.execute, FAKE.parse_and_eval
        parameter, execute = FAKE.parameter, FAKE.execute

        def set_language(command, to_string=False):
            if not command.startswith("set language "):
                return execute(command, to_string)
            self.executed.append(command)
            self.language = command.split()[-1]
            return ""

        def parse_and_eval(expression):
            if self.language not in ("c", "auto"):
                raise FAKE.error("A syntax error in expression, near `)&%s'." % expression.split("&")[-1])
            if expression == "(unsigned long)&interrupted":
                raise KeyboardInterrupt
            if expression != "(unsigned long)&_PyRuntime":
                raise FAKE.error("No symbol in current context.")
            return 0x7F00

        FAKE.parameter = lambda name: self.language if name == "language" else parameter(name)
        FAKE.execute, FAKE.parse_and_eval = set_language, parse_and_eval

    def tearDown(self):
        FAKE.parameter, FAKE.execute, FAKE.parse_and_eval = self.saved

    def test_a_rust_frame_does_not_stop_the_lookup_and_the_language_is_restored(self):
        self.language = "rust"
        self.assertEqual(glue._lookup_symbol("_PyRuntime"), 0x7F00)
        self.assertEqual(self.language, "rust")
        self.assertEqual(self.executed, ["set language c", "set language rust"])

    def test_auto_is_restored_and_c_left_alone(self):
        self.assertEqual(glue._lookup_symbol("_PyRuntime"), 0x7F00)
        self.assertEqual(self.executed, ["set language c", "set language auto"])
        self.executed.clear()
        self.language = "c"
        self.assertIsNone(glue._lookup_symbol("missing"))
        self.assertIsNone(glue._lookup_symbol("not an identifier"))
        self.assertEqual(self.executed, [])

    def test_an_interrupt_propagates_and_the_language_is_restored(self):
        self.language = "rust"
        with self.assertRaises(KeyboardInterrupt):
            glue._lookup_symbol("interrupted")
        self.assertEqual(self.language, "rust")


class Colour(unittest.TestCase):
    """-color always / never decide; auto colours when gdb styles its own output: `set style
    enabled`, gdb's stdout a terminal, TERM set and not dumb; JSON never."""

    def setUp(self):
        self.parameter, self.isatty, self.term = FAKE.parameter, glue.os.isatty, os.environ.get("TERM")
        self.style, self.terminal = True, True
        FAKE.parameter = lambda name: self.style if name == "style enabled" else self.parameter(name)
        glue.os.isatty = lambda fd: fd == 1 and self.terminal
        os.environ["TERM"] = "xterm"

    def tearDown(self):
        FAKE.parameter, glue.os.isatty = self.parameter, self.isatty
        if self.term is None:
            os.environ.pop("TERM", None)
        else:
            os.environ["TERM"] = self.term

    def color(self, words):
        options, _ = core.parse_options("gdb", words.split())
        return glue._color(options)

    def test_auto_follows_gdb_styling(self):
        self.assertTrue(self.color(""))
        self.assertTrue(self.color("-flat"))
        self.assertFalse(self.color("-json -color always"))
        self.style = False
        self.assertFalse(self.color(""))
        self.assertTrue(self.color("-color always"))
        self.style, self.terminal = True, False
        self.assertFalse(self.color(""))
        self.terminal = True
        os.environ["TERM"] = "dumb"
        self.assertFalse(self.color(""))
        del os.environ["TERM"]
        self.assertFalse(self.color(""))
        os.environ["TERM"] = "xterm"
        self.assertFalse(self.color("-color never"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
