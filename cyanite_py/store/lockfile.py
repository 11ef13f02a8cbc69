"""One server per database file: an exclusive lock on a file beside it, naming its holder.

The SQLite store numbers paths from a dict it loads at start-up, so a second process
writing the same file would hand out the same ids. `flock` is released by the kernel
when its holder exits, however it exits, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class LockedByAnother(Exception):
    """Another process holds the lock."""


class LockFile:
    """`acquire` takes the lock or raises `LockedByAnother`, naming the holder's pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedByAnother(f"in use by process {holder} (lock {self.path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
