"""Scenario: one thread spins in pure Python (so it holds the GIL almost always), the main
thread sleeps. Usage: python gil_spinner.py READY_FIFO"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready  # noqa: E402


def spin():
    counter = 0
    while True:  # SPIN
        counter += 1  # SPIN


def main():
    threading.Thread(target=spin, name="spinner", daemon=True).start()
    signal_ready(sys.argv[1])
    time.sleep(100000)


if __name__ == "__main__":
    main()
