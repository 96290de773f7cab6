"""Benchmark workload W1: THREADS threads, each DEPTH frames deep through 50 distinct
functions spread over 10 modules, every frame inside a `with` block, all parked.

    python w1_workload.py READY_FIFO [THREADS [DEPTH]]     (defaults 20 and 50)

The modules are generated into a temporary directory (removed at exit) so that every
function has a real file and line. Writes "ready" to READY_FIFO once every thread is
parked, then sleeps until killed."""
import importlib
import os
import shutil
import sys
import tempfile
import threading
import time

MODULES = 10
FUNCTIONS_PER_MODULE = 5

MODULE_TEMPLATE = '''
import contextlib
import threading

NEXT = None  # set by the workload: [(module, function name)] in call order


class Guard:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

{functions}
'''

FUNCTION_TEMPLATE = '''
def {name}(depth, parked, release):
    with Guard() as guard:
        if depth == 0:
            parked.release()
            release.wait()
        else:
            module, function = NEXT[depth % len(NEXT)]
            getattr(module, function)(depth - 1, parked, release)
'''


def generate(directory):
    names = []
    for m in range(MODULES):
        functions = ["w1_m%d_f%d" % (m, f) for f in range(FUNCTIONS_PER_MODULE)]
        body = "".join(FUNCTION_TEMPLATE.format(name=name) for name in functions)
        with open(os.path.join(directory, "w1_mod%d.py" % m), "w") as out:
            out.write(MODULE_TEMPLATE.format(functions=body))
        names.append(("w1_mod%d" % m, functions))
    return names


def main():
    fifo = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    directory = tempfile.mkdtemp(prefix="stackscope-w1-")
    try:
        sys.path.insert(0, directory)
        chain = []
        for module_name, functions in generate(directory):
            module = importlib.import_module(module_name)
            chain.extend((module, f) for f in functions)
        for module, _ in chain:
            module.NEXT = chain
        parked = threading.Semaphore(0)
        release = threading.Event()
        for index in range(threads):
            start_module, start_function = chain[index % len(chain)]
            threading.Thread(
                target=getattr(start_module, start_function), args=(depth - 1, parked, release),
                name="w1-%d" % index, daemon=True,
            ).start()
        for _ in range(threads):
            parked.acquire()
        time.sleep(0.2)  # let the last thread reach its wait
        with open(fifo, "w") as out:
            out.write("ready\n")
        time.sleep(100000)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
