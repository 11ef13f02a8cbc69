"""The import's progress on stderr: files, points, rate and time left.

On a terminal one line is redrawn in place a few times a second; into a file or a pipe
a line is written every few seconds, so a log stays readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

REDRAW_SECONDS = 0.25
LOG_SECONDS = 5.0


def duration(seconds: float) -> str:
    """`1h02m`, `3m05s`, `12s`, `0.4s`."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Shows how far an import of `files` files of `size` bytes in all has come."""

    def __init__(
        self,
        stream: TextIO,
        files: int,
        size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._files = files
        self._size = max(size, 1)
        self._clock = clock
        self._start = self._shown = clock()
        self._live = stream.isatty()
        self.files_done = 0
        self.size_done = 0
        self.points = 0

    def advance(self, files: int, size: int, points: int) -> None:
        """Count `files` more files of `size` bytes holding `points` points."""
        self.files_done += files
        self.size_done += size
        self.points += points
        now = self._clock()
        if now - self._shown >= (REDRAW_SECONDS if self._live else LOG_SECONDS):
            self._shown = now
            self._show(self.line())

    def line(self) -> str:
        elapsed = max(self._clock() - self._start, 1e-9)
        share = self.size_done / self._size
        left = elapsed / share - elapsed if share else None
        return (
            f"{self.files_done:,}/{self._files:,} files ({share:.0%}), {self.points:,} points, "
            f"{self.points / elapsed:,.0f} points/s, "
            f"{duration(left) if left is not None else '?'} left"
        )

    def finish(self) -> None:
        """End the redrawn line, so what follows starts on a line of its own."""
        if self._live:
            self._show(self.line())
            self._stream.write("\n")
            self._stream.flush()

    def _show(self, line: str) -> None:
        self._stream.write(f"\r\x1b[K{line}" if self._live else f"{line}\n")
        self._stream.flush()
