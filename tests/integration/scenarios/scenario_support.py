"""What the scenario programs share: tagged source lines, the SIGUSR1 liveness probe, the ready
FIFO, atomically written JSON and the lifetime alarm.

Nothing here is on a parked thread's stack: the stacks the tests compare stay each scenario's
own. A scenario imports this module from its own directory (it puts that directory on
sys.path first, so that it runs from any cwd, under -I, and inside a subinterpreter).
Standard library only; keep Python 3.8 syntax.
"""
import gc
import json
import os
import reprlib
import signal
import sys
import types

LIFETIME_SECONDS = 1800  # SIGALRM ends a scenario whose harness died without killing it


def tagged_lines(path, marker):
    """{line number: tag} of the code lines of `path` tagged `# <marker>: <tag>`."""
    tags = {}
    with open(path) as source:
        for number, text in enumerate(source, start=1):
            code, _, comment = text.partition("#")
            comment = comment.strip()
            if code.strip() and comment.startswith(marker + ":"):
                tags[number] = comment.split(":", 1)[1].strip()
    return tags


def park_tags(path):
    """{line number: tag} of the lines of `path` where a thread parks (`# PARK: <tag>`)."""
    return tagged_lines(path, "PARK")


def install_pong_handler(pong_path):
    """SIGUSR1 appends "pong" to pong_path: a liveness probe that changes no thread's stack."""

    def on_sigusr1(signum, frame):
        with open(pong_path, "a") as out:
            out.write("pong\n")

    signal.signal(signal.SIGUSR1, on_sigusr1)


def end_after_lifetime(seconds=LIFETIME_SECONDS):
    signal.alarm(seconds)


def write_json(path, data, indent=None):
    """Writes data to path through a rename, so a reader never sees half of it."""
    with open(path + ".tmp", "w") as out:
        json.dump(data, out, indent=indent)
    os.rename(path + ".tmp", path)


def signal_ready(fifo):
    """Writes "ready" to the harness's FIFO (blocks until the harness opens it)."""
    with open(fifo, "w") as out:
        out.write("ready\n")


def upstream_function_name(frame):
    """What upstream stackscope calls a frame's function: co_name, with the class of a first
    argument named self (its type) or cls (itself) before it."""
    code = frame.f_code
    owner = None
    if code.co_argcount and code.co_varnames[0] in ("self", "cls"):
        value = frame.f_locals.get(code.co_varnames[0])
        owner = type(value) if code.co_varnames[0] == "self" else value
        owner = getattr(owner, "__qualname__", None) if isinstance(owner, type) else None
    return "%s.%s" % (owner, code.co_name) if owner else code.co_name


def tool_function_name(frame):
    """What the tool calls it: co_qualname from 3.11, upstream's guess before."""
    return getattr(frame.f_code, "co_qualname", None) or upstream_function_name(frame)


def bounded_repr(obj):
    """repr(obj) with the bounds the tool uses everywhere (issue 15), as reprlib computes it
    in-process: the truth for every repr the tool shows."""
    return reprlib.Repr(maxlevel=3, maxstring=80, maxlong=80, maxlist=6, maxtuple=6, maxdict=4, maxset=6,
                        maxfrozenset=6, maxother=80).repr(obj) if sys.version_info >= (3, 12) else _bounded_repr_old(obj)


def _bounded_repr_old(obj):
    """reprlib.Repr before 3.12 takes no keyword arguments: the same bounds as attributes."""
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxlong, r.maxlist, r.maxtuple = 3, 80, 80, 6, 6
    r.maxdict, r.maxset, r.maxfrozenset, r.maxother = 4, 6, 6, 80
    return r.repr(obj)


def stack_of(frame):
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


def await_chain(obj):
    """The frames of a suspended generator / coroutine / async generator, outermost first."""
    frames = []
    while obj is not None:
        if isinstance(obj, types.GeneratorType):
            frame, obj = obj.gi_frame, obj.gi_yieldfrom
        elif isinstance(obj, types.CoroutineType):
            frame, obj = obj.cr_frame, obj.cr_await
        elif isinstance(obj, types.AsyncGeneratorType):
            frame, obj = obj.ag_frame, obj.ag_await
        elif type(obj).__name__ == "async_generator_asend":  # anext(agen): stands for agen
            agens = [r for r in gc.get_referents(obj) if isinstance(r, types.AsyncGeneratorType)]
            if len(agens) != 1:
                raise SystemExit("scenario: %r refers to %d async generators" % (obj, len(agens)))
            obj = agens[0]
            continue
        else:
            raise SystemExit("scenario: the chain ends in %r" % (obj,))
        if frame is None:
            break
        frames.append(frame)
    return frames
