"""Scenario: threads that never stop changing their stacks, for reads without stopping.

Usage: python deep_spinner.py READY_FIFO THREADS DEPTH

Each of THREADS threads recurses to DEPTH and unwinds again, forever; the main thread sleeps.
(keep Python 3.8 syntax)"""
import signal
import sys
import threading
import time


def descend(depth):
    if depth:
        descend(depth - 1)


def spin(depth):
    while True:
        descend(depth)


def main():
    signal.alarm(1800)  # ends a scenario whose harness died without killing it
    threads, depth = int(sys.argv[2]), int(sys.argv[3])
    for index in range(threads):
        threading.Thread(target=spin, args=(depth,), name="spinner-%d" % index, daemon=True).start()
    with open(sys.argv[1], "w") as fifo:
        fifo.write("ready\n")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
