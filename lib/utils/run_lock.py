"""One run per folder: an exclusive OS file lock held for a run's whole life (tracking/test.py on a results
folder, tracking/train.py on a run's checkpoint folder), with the holder's PID, command line and start time in
a sidecar file so that a second run can say who holds it.

The lock is `flock` on `<folder>/.run.lock` (filelock's FileLock where fcntl is missing): the OS releases it when
the holder dies, even by kill -9, so the next run takes the folder over (and says whose lock it took). The
sidecar `<folder>/.run.lock.json` is only information; the lock itself decides.
"""
from __future__ import annotations

import datetime
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lib.utils.io import atomic_write_bytes

LOCK_FILE = ".run.lock"
HOLDER_FILE = ".run.lock.json"


class FolderBusyError(RuntimeError):
    """Another live run holds the folder's lock; the message names its PID, command and start time."""


def command_line() -> str:
    """This process's command line as typed (Linux's /proc/self/cmdline, else the interpreter and sys.argv)."""
    try:
        args = Path("/proc/self/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        return shlex.join(a.decode(errors="replace") for a in args)
    except OSError:
        return shlex.join([sys.executable, *sys.argv])


def holder_record() -> dict:
    """This process as a lock holder: PID, host, command line, start time (UTC)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": command_line(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def read_holder(folder: str | os.PathLike) -> dict | None:
    """The sidecar record of the folder's (last) lock holder, or None when there is none or it is unreadable."""
    try:
        data = json.loads((Path(folder) / HOLDER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_holder(record: dict | None) -> str:
    """'PID 123 on host, started 2026-01-01T10:00:00+00:00: <command>' (or a note that it is unknown)."""
    if not record:
        return "a process that has not written its record yet"
    return (f"PID {record.get('pid')} on {record.get('host')}, started {record.get('started')}: "
            f"{record.get('command')}")


class _OsLock:
    """A non-blocking / blocking exclusive lock on one file that dies with the process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None

    def try_acquire(self) -> bool:
        try:
            import fcntl
        except ImportError:  # not POSIX
            from filelock import FileLock, Timeout

            lock = FileLock(str(self.path))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                return False
            self._handle = lock
            return True
        handle = open(self.path, "a+b")  # noqa: SIM115 (held open for the run's life)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if hasattr(handle, "acquire"):  # filelock
            handle.release()
        else:
            handle.close()  # closing the only descriptor drops the flock


class RunLock:
    """The lock of one run folder: `acquire()` or stop with FolderBusyError naming the holder; `release()`.

    `hint` ends the busy message (what the user can do instead, e.g. "pass --runid N"). Usable as a context
    manager (acquires without waiting).
    """

    def __init__(self, folder: str | os.PathLike, hint: str = "") -> None:
        self.folder = Path(folder)
        self.hint = hint
        self.record: dict | None = None
        self._lock = _OsLock(self.folder / LOCK_FILE)

    @property
    def held(self) -> bool:
        return self.record is not None

    def acquire(self, wait: bool = False, on_wait: Callable[[str], None] | None = None,
                poll_s: float = 0.5) -> str | None:
        """Take the lock; with `wait`, poll until the holder ends (`on_wait` gets one message first).

        Returns a note when the lock of a run that ended without releasing it (killed) is taken over, else None.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        announced = False
        while not self._lock.try_acquire():
            holder = self._busy_holder()
            if holder is False:  # released while we looked: try again at once
                continue
            message = f"{self.folder} is in use by another run ({describe_holder(holder)})"
            if not wait:
                raise FolderBusyError(f"{message}. {self.hint}".rstrip())
            if not announced and on_wait is not None:
                on_wait(f"{message}; waiting for it to end (--wait)")
            announced = True
            time.sleep(poll_s)
        previous = read_holder(self.folder)
        self.record = holder_record()
        atomic_write_bytes(self.folder / HOLDER_FILE, (json.dumps(self.record, indent=1) + "\n").encode())
        if previous and previous.get("pid") != self.record["pid"]:
            return (f"took over the lock of {self.folder} from a run that ended without releasing it "
                    f"({describe_holder(previous)})")
        return None

    def _busy_holder(self) -> dict | None | bool:
        """The holder's record (the sidecar may lag the lock by a moment), or False when the lock came free."""
        for _ in range(10):
            record = read_holder(self.folder)
            if record is not None:
                return record
            time.sleep(0.1)
            if self._lock.try_acquire():
                self._lock.release()
                return False
        return None

    def release(self) -> None:
        """Delete the sidecar (ours) and drop the lock."""
        if self.record is None:
            return
        current = read_holder(self.folder)
        if current is not None and current.get("pid") == self.record["pid"]:
            (self.folder / HOLDER_FILE).unlink(missing_ok=True)
        self.record = None
        self._lock.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
