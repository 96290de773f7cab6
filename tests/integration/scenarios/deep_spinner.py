"""Scenario: threads that never stop changing their stacks, for reads without stopping.

Usage: python deep_spinner.py READY_FIFO THREADS DEPTH

Each of THREADS threads recurses to DEPTH and unwinds again, forever; the main thread sleeps.
(keep Python 3.8 syntax)"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import end_after_lifetime, signal_ready  # noqa: E402


def descend(depth):
    if depth:
        descend(depth - 1)


def spin(depth):
    while True:
        descend(depth)


def main():
    end_after_lifetime()
    threads, depth = int(sys.argv[2]), int(sys.argv[3])
    for index in range(threads):
        threading.Thread(target=spin, args=(depth,), name="spinner-%d" % index, daemon=True).start()
    signal_ready(sys.argv[1])
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
