"""Which files an import has finished, so a second run carries on where the first one
stopped instead of writing the same points again (a store merges a window written twice,
which would double its counts and sums)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class ImportState:
    """Names of imported files, one a line, appended and synced after each store write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._done: set[str] = set()
        if path.exists():
            self._done = set(path.read_text(encoding="utf-8").splitlines())

    def __contains__(self, name: str) -> bool:
        return name in self._done

    def __len__(self) -> int:
        return len(self._done)

    def record(self, names: Iterable[str]) -> None:
        """Remember `names` as imported, on disk before returning."""
        added = [name for name in names if name not in self._done]
        if not added:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write("".join(f"{name}\n" for name in added))
            out.flush()
            os.fsync(out.fileno())
        self._done.update(added)
