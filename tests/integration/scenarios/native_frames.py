"""Native frames (issue 18): Python -> C -> Python -> C on the main thread, a Python thread in
time.sleep, and a C thread that never ran Python code, all parked in system calls.

The extension (tests/integration/native_ext/stackscope_native_ext.c) is imported from
$STACKSCOPE_NATIVE_EXT_DIR, where the test compiled it for this interpreter.

main thread:   <module> -> main -> outer -> ext.call_back(middle) -> middle -> ext.block_forever()
"sleeper":     threading's bootstrap -> sleeper_outer -> sleeper -> time.sleep
"timed-waiter", "untimed-waiter": threading's bootstrap -> timed_waiter / untimed_waiter ->
               Lock.acquire(timeout=...) / Lock.acquire() on a lock the main thread holds:
               glibc's semaphore waits (sem_clockwait or sem_timedwait / sem_wait), futex waits
C thread:      native_ext_c_thread_main -> native_ext_c_thread_block -> read()

The truth (written before the main thread blocks): pid, the tids and each Python thread's
function names, outermost first, as the tool names them.
Standard library only; keep Python 3.8 syntax.
"""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.path.insert(0, os.environ["STACKSCOPE_NATIVE_EXT_DIR"])

import stackscope_native_ext as ext  # noqa: E402
from scenario_support import (end_after_lifetime, install_pong_handler, signal_ready, stack_of,  # noqa: E402
                              tool_function_name, write_json)

TRUTH = {}
SLEEPER_PARKED = threading.Event()
HELD_LOCK = threading.Lock()  # the main thread holds it for ever


def interpreter_file():
    """The file that holds _PyRuntime (the executable or libpython): dladdr's answer, the
    executable itself when dladdr names the main program (its path is argv[0] there)."""
    import ctypes

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    address = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    info = DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
        raise SystemExit("scenario: dladdr(_PyRuntime at %#x) failed" % address)
    name = (info.dli_fname or b"").decode()
    if not os.path.isabs(name) or not os.path.exists(name):
        return os.path.realpath(sys.executable)
    return os.path.realpath(name)


def sleeper():
    SLEEPER_PARKED.set()
    TRUTH["sleeper_functions"] = [tool_function_name(f) for f in stack_of(sys._getframe())]
    time.sleep(10 ** 6)


def sleeper_outer():
    sleeper()


def timed_waiter():
    TRUTH["timed_waiter_functions"] = [tool_function_name(f) for f in stack_of(sys._getframe())]
    HELD_LOCK.acquire(timeout=10 ** 6)


def untimed_waiter():
    TRUTH["untimed_waiter_functions"] = [tool_function_name(f) for f in stack_of(sys._getframe())]
    HELD_LOCK.acquire()


def middle():
    TRUTH["main_functions"] = [tool_function_name(f) for f in stack_of(sys._getframe())]
    write_json(TRUTH["path"], {key: value for key, value in TRUTH.items() if key != "path"}, indent=1)
    signal_ready(TRUTH.pop("fifo"))
    ext.block_forever()


def outer():
    ext.call_back(middle)


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    sleeper_thread = threading.Thread(target=sleeper_outer, name="sleeper", daemon=True)
    sleeper_thread.start()
    SLEEPER_PARKED.wait()
    HELD_LOCK.acquire()
    waiters = {name: threading.Thread(target=function, name=name.replace("_", "-"), daemon=True)
               for name, function in (("timed_waiter", timed_waiter), ("untimed_waiter", untimed_waiter))}
    for thread in waiters.values():
        thread.start()
    while not all(key in TRUTH for key in ("sleeper_functions", "timed_waiter_functions", "untimed_waiter_functions")):
        time.sleep(0.01)
    TRUTH.update({
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "executable": sys.executable,
        "extension": ext.__file__,
        "main_tid": threading.get_native_id(),
        "interpreter_file": interpreter_file(),
        "sleeper_tid": sleeper_thread.native_id,
        "timed_waiter_tid": waiters["timed_waiter"].native_id,
        "untimed_waiter_tid": waiters["untimed_waiter"].native_id,
        "c_thread_tid": ext.start_c_thread(),
        "path": truth_path,
        "fifo": ready_fifo,
    })
    outer()


if __name__ == "__main__":
    main()
