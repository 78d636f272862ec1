"""One bot per database: an OS file lock next to the database, held for the bot's lifetime.

The kernel drops the lock when the process dies, even by ``kill -9``, so unlike a pid
file it never claims that a dead bot runs, and the pid written inside it is only
trusted while the lock is held (a live process's pid cannot be reused).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType


class AlreadyRunning(Exception):
    """Another process holds the database's lock; ``pid`` is that process."""

    def __init__(self, path: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a Relais bot already runs on this database ({who}, lock {path})")
        self.path, self.pid = path, pid


_ATTEMPTS, _PAUSE = 50, 0.01


def lock_path(database: str | Path) -> Path:
    """Where the lock of ``database`` lives."""
    return Path(str(database) + ".lock")


class InstanceLock:
    """An exclusive, non-blocking ``flock`` on ``<database>.lock``; a context manager."""

    def __init__(self, database: str | Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self, *, write_pid: bool = True) -> InstanceLock:
        """Take the lock or raise ``AlreadyRunning`` naming the holder; waits 0.5 s at most."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        # A holder that has just taken the lock writes its pid a moment later (flock, then
        # write), and a probe (``running_pid``) holds it for an instant without one: a short
        # bounded wait names the first and outlasts the second. A holder that wrote nothing
        # by then is reported as "another process".
        for _ in range(_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid = _read_pid(fd)
                if pid is not None:
                    os.close(fd)
                    raise AlreadyRunning(self.path, pid) from None
                time.sleep(_PAUSE)
        else:
            os.close(fd)
            raise AlreadyRunning(self.path, None)
        if write_pid:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Let go of the lock; safe to call twice."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> InstanceLock:
        return self.acquire() if self._fd is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def running_pid(database: str | Path) -> int | None:
    """The pid of the bot running on ``database``, or None when none holds the lock."""
    if not lock_path(database).exists():
        return None
    try:
        InstanceLock(database).acquire(write_pid=False).release()
    except AlreadyRunning as exc:
        return exc.pid or -1
    return None


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    return None
