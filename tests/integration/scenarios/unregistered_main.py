"""Scenario: the main thread is renamed and then missing from threading._active (as when that
registry cannot be read), so only threading._main_thread still names it; a worker named
"worker" stays registered. Usage: python unregistered_main.py READY_FIFO"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready  # noqa: E402


def main():
    threading.current_thread().name = "main-unregistered"
    threading.Thread(target=time.sleep, args=(100000,), name="worker", daemon=True).start()
    with threading._active_limbo_lock:
        del threading._active[threading.get_ident()]
    signal_ready(sys.argv[1])
    time.sleep(100000)


if __name__ == "__main__":
    main()
