"""Scenario: threads start and exit all the time. Usage: python thread_churn.py READY_FIFO"""
import sys
import threading
import time


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
    with open(sys.argv[1], "w") as fifo:
        fifo.write("ready\n")
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
