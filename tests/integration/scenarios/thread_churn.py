"""Scenario: threads start and exit all the time. Usage: python thread_churn.py READY_FIFO"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready  # noqa: E402


def short_life(depth):
    if depth:
        return short_life(depth - 1)
    time.sleep(0.01)


def churn():
    n = 0
    while True:
        threads = [threading.Thread(target=short_life, args=(i % 7,), name="churn-%d" % (n + i)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        n += 8


def main():
    threading.Thread(target=churn, name="churner", daemon=True).start()
    signal_ready(sys.argv[1])
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
