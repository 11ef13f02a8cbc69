"""`cyanite-py import whisper DIR`: every whisper file under DIR, written into the store.

Files are read in a worker thread and their windows written through the store's own
`write`, as the server writes its snapshots, a batch of files at a time. After each write
the batch's files are recorded in the state file, and a run skips what it records, so an
import stopped by Ctrl-C (it finishes the write under way) or by a crash carries on where
it stopped when run again, without writing any file twice. Only a crash between a write
and its record could make that one batch count twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import trio

from cyanite_py.config import Config
from cyanite_py.engine.rules import Rule, compile_rules, match_rule
from cyanite_py.index.base import Index
from cyanite_py.migrate.progress import Progress, duration
from cyanite_py.migrate.state import ImportState
from cyanite_py.migrate.whisper_files import (
    FileWindows,
    UnreadableFile,
    WhisperFile,
    file_windows,
    snapshot_batch,
)
from cyanite_py.store.base import Store, StoreUnavailable
from cyanite_py.store.sqlite.config import SqliteStoreConfig

log = logging.getLogger(__name__)

BATCH_WINDOWS = 200_000
"""Windows gathered from files before one store write (and one record of their names)."""


def default_state_path(config: Config) -> Path:
    """Beside the SQLite database it belongs to; else in the current directory."""
    if isinstance(config.store, SqliteStoreConfig):
        return Path(f"{config.store.path}.whisper-imported")
    return Path("cyanite.whisper-imported")


@dataclass(slots=True)
class Outcome:
    """What one run did."""

    files: int
    imported: int = 0
    skipped: int = 0
    """Files an earlier run had imported."""
    failed: list[str] = field(default_factory=list)
    points: int = 0
    windows: int = 0
    expired: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def summary(self) -> str:
        left = self.files - self.imported - self.skipped - len(self.failed)
        parts = [
            f"imported {self.imported:,} of {self.files:,} files",
            f"{self.points:,} points into {self.windows:,} windows in {duration(self.seconds)}",
        ]
        if self.skipped:
            parts.append(f"{self.skipped:,} already imported by an earlier run")
        if self.expired:
            parts.append(f"{self.expired:,} points older than their resolution's period left out")
        if self.failed:
            parts.append(f"{len(self.failed):,} unreadable")
        if self.interrupted:
            parts.append(f"interrupted with {left:,} files to go: run it again to carry on")
        return "; ".join(parts)


class WhisperImport:
    """Imports `files` into a running store (and index, when it keeps its own paths)."""

    def __init__(
        self,
        config: Config,
        files: list[WhisperFile],
        state: ImportState,
        progress: Progress,
        now: int,
        batch_windows: int = BATCH_WINDOWS,
    ) -> None:
        self._config = config
        self._batch_windows = batch_windows
        self._rules: tuple[Rule, ...] = compile_rules(config.engine.rules)
        self._files = files
        self._state = state
        self._progress = progress
        self._now = now
        self.outcome = Outcome(len(files))

    async def run(self, store: Store, index: Index | None, stop: trio.Event) -> Outcome:
        """Import until every file is done or `stop` is set; the write under way ends."""
        started = trio.current_time()
        pending: list[tuple[WhisperFile, FileWindows]] = []
        for file in self._files:
            if stop.is_set():
                self.outcome.interrupted = True
                break
            if file.name in self._state:
                self.outcome.skipped += 1
                self._progress.advance(1, file.size, 0)
                continue
            read = await self._read(file)
            if read is None:
                continue
            pending.append((file, read))
            if sum(windows.windows for _, windows in pending) >= self._batch_windows:
                await self._write(store, index, pending, stop)
                pending = []
        if pending:
            await self._write(store, index, pending, stop)
        self.outcome.seconds = trio.current_time() - started
        return self.outcome

    async def _read(self, file: WhisperFile) -> FileWindows | None:
        resolutions = self._rules[match_rule(self._rules, file.metric)].resolutions
        try:
            read = await trio.to_thread.run_sync(file_windows, file, resolutions, self._now)
        except UnreadableFile as error:
            log.warning("skipped: %s", error)
            self.outcome.failed.append(str(error))
            self._progress.advance(1, file.size, 0)
            return None
        self._progress.advance(1, file.size, read.points)
        return read

    async def _write(
        self,
        store: Store,
        index: Index | None,
        pending: list[tuple[WhisperFile, FileWindows]],
        stop: trio.Event,
    ) -> None:
        """One store write for the batch, retried while the store is away (until `stop`),
        then the batch's files recorded as done."""
        batch = snapshot_batch([windows for _, windows in pending])
        delay = self._config.writer.retry_initial
        while True:
            try:
                await store.write(batch)
                break
            except StoreUnavailable as error:
                if stop.is_set():
                    self.outcome.interrupted = True
                    return
                log.warning("store unavailable, retrying in %.1fs: %s", delay, error)
                await trio.sleep(delay)
                delay = min(delay * 2, self._config.writer.retry_max)
        if index is not None:
            index.add(batch.new_paths)
        self._state.record(file.name for file, _ in pending)
        self.outcome.imported += len(pending)
        self.outcome.points += sum(windows.points for _, windows in pending)
        self.outcome.windows += len(batch)
        self.outcome.expired += sum(windows.expired for _, windows in pending)
