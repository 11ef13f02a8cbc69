"""A parse worker's numbering of paths, compact past the first million.

A worker sees every active path, so what it keeps per path multiplies by millions: a
`dict[str, int]` costs about 150 bytes a path (the string object, the entry, the int).
The first `HOT_PATHS` paths are held that way, as a dict lookup is the fastest there is
and most servers have fewer paths. The paths after them cost their UTF-8 bytes plus
about 25 each (`PackedKeys`): the bytes and their offsets in growing buffers, and their
hashes in a `KeyTable`. Their lookups stay in C: Python's string hash for every path of
a chunk, numpy for the probes, and Arrow to compare each candidate's bytes with the path,
so two paths whose hashes agree are never confused. With 3,000,000 paths a packed lookup
costs about a fifth more than a dict's, as both mostly wait on memory by then.
"""

from __future__ import annotations

from array import array
from itertools import repeat

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from cyanite_py.keytable import EMPTY, Int64Array, KeyTable

HOT_PATHS = 1_000_000
"""Paths numbered in a dict (about 150 MB) before the rest are packed."""


class Numbering:
    """Keys 0, 1, 2, … for paths in the order the worker first sees them: the first `hot`
    in a dict, the rest in `PackedKeys`."""

    def __init__(self, hot: int = HOT_PATHS) -> None:
        self._hot: dict[str, int] = {}
        self._hot_size = hot
        self._packed = PackedKeys()

    def __len__(self) -> int:
        return len(self._hot) + len(self._packed)

    def keys(self, paths: list[str]) -> tuple[Int64Array, list[str]]:
        """Each path's key, and the paths numbered by this call, in key order. Paths
        are decoded UTF-8 (no lone surrogates), as the parsers give them."""
        hot = self._hot
        keys = np.fromiter(map(hot.get, paths, repeat(EMPTY)), np.int64, len(paths))
        missing = np.flatnonzero(keys == EMPTY)
        if not len(missing):
            return keys, []
        missed = list(map(paths.__getitem__, missing.tolist()))
        new: list[str] = []
        room = self._hot_size - len(hot)
        if room > 0:  # nothing is packed yet, so every path missing is new
            new = list(dict.fromkeys(missed))[:room]
            hot.update(zip(new, range(len(hot), len(hot) + len(new)), strict=True))
            keys[missing] = np.fromiter(map(hot.get, missed, repeat(EMPTY)), np.int64, len(missed))
            still = keys[missing] == EMPTY
            if not still.any():
                return keys, new
            missing = missing[still]
            missed = list(map(paths.__getitem__, missing.tolist()))
        packed, packed_new = self._packed.keys(missed)
        keys[missing] = packed + self._hot_size
        return keys, new + packed_new


class PackedKeys:
    """Keys 0, 1, 2, … for paths in the order first seen: each path's UTF-8 bytes in one
    buffer, found through a `KeyTable` of their hashes."""

    def __init__(self) -> None:
        self._table = KeyTable()
        self._bytes = bytearray()
        self._ends = array("q", [0])
        """Where each key's path starts (and the one before it ends) in `_bytes`."""

    def __len__(self) -> int:
        return len(self._table)

    def keys(self, paths: list[str]) -> tuple[Int64Array, list[str]]:
        """Each path's key, and the paths numbered by this call, in key order."""
        hashes = np.fromiter(map(hash, paths), np.int64, len(paths))
        text = pa.array(paths, pa.string())
        keys = self._find(hashes, text)
        unknown = np.flatnonzero(keys == EMPTY)
        if not len(unknown):
            return keys, []
        first = len(self)
        new = list(map(paths.__getitem__, unknown.tolist()))
        if _distinct(hashes[unknown]):  # so no path comes twice
            keys[unknown] = np.arange(first, first + len(unknown))
            numbered = unknown
        else:
            fresh = dict.fromkeys(new, EMPTY)
            fresh.update(zip(fresh, range(first, first + len(fresh)), strict=True))
            keys[unknown] = list(map(fresh.__getitem__, new))
            new = list(fresh)
            numbered = unknown[np.unique(keys[unknown], return_index=True)[1]]
        self._hold(text.take(numbered))
        self._table.add(hashes[numbered])
        return keys, new

    def _find(self, hashes: Int64Array, text: pa.StringArray) -> Int64Array:
        """Each path's key, or EMPTY: the table's candidates, checked against the paths
        held in one step, and the few whose hash another path shares, one at a time."""
        found = self._table.first_keys(hashes)
        candidates = np.flatnonzero(found != EMPTY)
        if len(candidates) == len(found):
            same = _equal(self._held().take(found), text)
        else:
            same = _equal(self._held().take(found[candidates]), text.take(candidates))
        for position in candidates[~same].tolist():
            path = text[position].as_py()
            keys = self._table.keys_of(int(hashes[position]))
            found[position] = next((key for key in keys if self._path(key) == path), EMPTY)
        return found

    def _path(self, key: int) -> str:
        return self._bytes[self._ends[key] : self._ends[key + 1]].decode()

    def _held(self) -> pa.LargeStringArray:
        """Every path held, as an Arrow array over the buffers (no copy)."""
        buffers = [None, pa.py_buffer(self._ends), pa.py_buffer(self._bytes)]
        held = pa.Array.from_buffers(pa.large_string(), len(self), buffers)
        assert isinstance(held, pa.LargeStringArray)
        return held

    def _hold(self, text: pa.StringArray) -> None:
        """Keep the bytes of new paths, given in key order."""
        _, offset_buffer, data = text.buffers()
        assert offset_buffer is not None and data is not None
        offsets = np.frombuffer(memoryview(offset_buffer), np.int32, len(text) + 1, text.offset * 4)
        self._bytes += memoryview(data)[offsets[0] : offsets[-1]]
        ends = (offsets[1:] - offsets[0]).astype(np.int64) + self._ends[-1]
        self._ends.frombytes(ends.tobytes())


def _distinct(values: Int64Array) -> bool:
    ordered = np.sort(values)
    return bool((ordered[1:] != ordered[:-1]).all())


def _equal(left: pa.LargeStringArray, right: pa.StringArray) -> npt.NDArray[np.bool_]:
    """Whether each pair of paths is the same."""
    same = pc.equal(left, right.cast(pa.large_string()))
    return np.asarray(same.to_numpy(zero_copy_only=False), np.bool_)
