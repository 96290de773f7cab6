"""Scenario: one thread spins in pure Python (so it holds the GIL almost always), the main
thread sleeps. Usage: python gil_spinner.py READY_FIFO"""
import sys
import threading
import time


def spin():
    counter = 0
    while True:  # SPIN
        counter += 1  # SPIN


def main():
    threading.Thread(target=spin, name="spinner", daemon=True).start()
    with open(sys.argv[1], "w") as fifo:
        fifo.write("ready\n")
    time.sleep(100000)


if __name__ == "__main__":
    main()
