"""Scenario: the main thread is renamed and then missing from threading._active (as when that
registry cannot be read), so only threading._main_thread still names it; a worker named
"worker" stays registered. Usage: python unregistered_main.py READY_FIFO"""
import sys
import threading
import time


def main():
    threading.current_thread().name = "main-unregistered"
    threading.Thread(target=time.sleep, args=(100000,), name="worker", daemon=True).start()
    with threading._active_limbo_lock:
        del threading._active[threading.get_ident()]
    with open(sys.argv[1], "w") as fifo:
        fifo.write("ready\n")
    time.sleep(100000)


if __name__ == "__main__":
    main()
