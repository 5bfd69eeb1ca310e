"""Child processes that die with their parent, and how a child that the OS killed is named in a report."""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int, poll_s: float = 1.0, watchdog: bool = True) -> None:
    """End this process when `parent_pid` dies, even by kill -9: Linux's parent-death signal (SIGKILL) where
    prctl exists, and (unless `watchdog` is False) everywhere a daemon watchdog thread (on the multiprocessing
    parent's sentinel in a multiprocessing child, else on the parent PID)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    if not watchdog:
        return
    parent = multiprocessing.parent_process()

    def watch() -> None:
        if parent is not None and parent.pid == parent_pid:
            multiprocessing.connection.wait([parent.sentinel])  # ready when the parent is gone
        else:
            while os.getppid() == parent_pid:
                time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def killed_message(exitcode: int | None) -> str:
    """How a worker that ended abruptly is named: 'worker killed (signal 9), possibly out of memory'."""
    if exitcode is not None and exitcode < 0:
        oom = ", possibly out of memory" if -exitcode == signal.SIGKILL else ""
        return f"worker killed (signal {-exitcode}){oom}"
    return f"worker exited abruptly (exit code {exitcode})"
