"""Whisper files as cyanite-py windows: which files, their metric paths, and their points
laid into the windows of the path's resolutions.

Each stored time is read from the finest archive that holds it, as whisper's own fetch
picks, so no point is counted twice. The library reads and checks the header; each
archive is then read whole into numpy columns, since whisper's fetch unpacks it one
slot at a time in Python and a five-year archive holds hundreds of thousands of slots.

Every whisper point counts as one point of its window (count 1, sum = min = max = its
value); where the rule's windows are wider than the archive's step, the points in one
window are aggregated (counts and sums added, minima and maxima combined), exactly as
the engine aggregates points.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import whisper

from cyanite_py.model import Columns, FloatArray, IntArray, PathTable, Resolution, SnapshotBatch

SUFFIX = ".wsp"


@dataclass(frozen=True, slots=True)
class WhisperFile:
    """One file under the imported directory."""

    path: Path
    name: str
    """Its absolute path: the key recorded once it is imported, so two directories
    imported into one store do not mistake each other's files."""
    metric: str
    """`a/b/c.wsp` → `a.b.c`."""
    size: int


def find_files(root: Path) -> list[WhisperFile]:
    """Every `.wsp` file under `root`, in a stable order."""
    found = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        for name in sorted(names):
            if name.endswith(SUFFIX):
                path = Path(directory, name)
                relative = path.relative_to(root)
                metric = ".".join(relative.with_suffix("").parts)
                name = path.resolve().as_posix()
                found.append(WhisperFile(path, name, metric, path.stat().st_size))
    return found


class UnreadableFile(Exception):
    """A file that is not a whisper file, or is cut short; the message says which."""


def read_points(path: Path, now: int) -> tuple[IntArray, FloatArray]:
    """`(times, values)` of every point stored in `path`, oldest first."""
    header = whisper.info(str(path))
    if header is None:
        raise UnreadableFile(f"{path}: cannot read")
    times: list[IntArray] = []
    values: list[FloatArray] = []
    covered_from = now + 1  # finer archives hold every time from here on
    with path.open("rb") as source:
        for archive in header["archives"]:  # finest first, as whisper keeps them
            step = archive["secondsPerPoint"]
            start = now - archive["retention"]
            if start >= covered_from:
                continue
            first, stamps, numbers = _archive_points(source, archive, start, min(covered_from, now))
            # A slot only partly newer than what finer archives hold is theirs.
            keep = ~np.isnan(numbers) & (stamps + step <= covered_from)
            times.insert(0, stamps[keep])
            values.insert(0, numbers[keep])
            covered_from = min(covered_from, first)
    if not times:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    return np.concatenate(times), np.concatenate(values)


POINT = np.dtype([("time", ">u4"), ("value", ">f8")])
"""One slot of an archive, as whisper packs it (`!Ld`)."""


def _archive_points(
    source: BinaryIO, archive: dict[str, int], start: int, until: int
) -> tuple[int, IntArray, FloatArray]:
    """The first slot time whisper's fetch would give for `start`..`until`, and the
    points it would return, oldest first: the slots whose stored time lies in that
    range. A slot holds the time it was written for, so a slot left from an earlier lap
    of the ring falls outside the range. The whole archive is read in one go and
    filtered column-wise, not slot by slot as whisper's own fetch does."""
    step = archive["secondsPerPoint"]
    first = start - start % step + step
    end = until - until % step + step
    if first == end:
        end += step
    source.seek(archive["offset"])
    slots = np.fromfile(source, dtype=POINT, count=archive["points"])
    if len(slots) < archive["points"]:
        raise UnreadableFile(f"{source.name}: an archive is cut short")
    stamps = slots["time"].astype(np.int64)
    inside = (stamps >= first) & (stamps < end)
    order = np.argsort(stamps[inside], kind="stable")
    return first, stamps[inside][order], slots["value"][inside][order].astype(np.float64)


@dataclass(slots=True)
class FileWindows:
    """The windows of one file at each of its resolutions."""

    metric: str
    points: int
    expired: int
    """Points older than a resolution's period, at that resolution: not written."""
    columns: list[Columns] = field(default_factory=list)

    @property
    def windows(self) -> int:
        return sum(len(column[0]) for column in self.columns)


def file_windows(file: WhisperFile, resolutions: tuple[Resolution, ...], now: int) -> FileWindows:
    """Read `file` and lay its points into windows at every resolution."""
    try:
        times, values = read_points(file.path, now)
    except (whisper.WhisperException, OSError, ValueError) as error:
        raise UnreadableFile(f"{file.path}: {error}") from None
    result = FileWindows(file.metric, len(times), 0)
    for resolution in resolutions:
        starts = times - times % resolution.precision
        kept = starts >= now - resolution.period
        result.expired += int(np.count_nonzero(~kept))
        if kept.any():
            result.columns.append(_aggregate(starts[kept], values[kept], resolution))
    return result


def _aggregate(starts: IntArray, values: FloatArray, resolution: Resolution) -> Columns:
    """`COLUMNS` of the windows these points (window starts, oldest first) fall into."""
    order = np.argsort(starts, kind="stable")
    starts, values = starts[order], values[order]
    firsts = np.flatnonzero(np.diff(starts, prepend=starts[0] - 1))
    counts = np.diff(np.append(firsts, len(starts)))
    size = len(firsts)
    return (
        np.full(size, resolution.precision, dtype=np.int64),
        np.full(size, resolution.period, dtype=np.int64),
        starts[firsts],
        counts.astype(np.int64),
        np.add.reduceat(values, firsts),
        np.minimum.reduceat(values, firsts),
        np.maximum.reduceat(values, firsts),
    )


def snapshot_batch(files: list[FileWindows]) -> SnapshotBatch:
    """One store write holding every window of `files`; their paths are new paths, so
    the store (and an index rebuilt from it) lists them."""
    table = PathTable(file.metric for file in files)
    parts = [(key, columns) for key, file in enumerate(files) for columns in file.columns]
    if not parts:
        return SnapshotBatch(table, new_paths=list(table.names))
    keys = np.concatenate([np.full(len(columns[0]), key) for key, columns in parts])
    return SnapshotBatch(
        table,
        keys.astype(np.int64),
        np.concatenate([columns[0] for _, columns in parts]),
        np.concatenate([columns[1] for _, columns in parts]),
        np.concatenate([columns[2] for _, columns in parts]),
        np.concatenate([columns[3] for _, columns in parts]),
        np.concatenate([columns[4] for _, columns in parts]),
        np.concatenate([columns[5] for _, columns in parts]),
        np.concatenate([columns[6] for _, columns in parts]),
        list(table.names),
    )
