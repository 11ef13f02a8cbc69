"""Keys 0, 1, 2, … found by hash in flat numpy columns, for sets of names too large for a
dict's 60-odd bytes an entry (the entry and an int object, besides the name).

A `KeyTable` holds each key's 64-bit hash and an open-addressing table of keys (linear
probing, int32 slots, at most `MAX_LOAD` full): about 15 bytes a key. It knows nothing
of the names themselves: its owner hashes them, and checks each key it offers against
the name, since two names may share a hash. Lookups of many hashes at once run in numpy
a probe step at a time for all of them, then one at a time once few are left.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

EMPTY = -1
"""No key: an empty slot, or a hash no key has."""
MAX_LOAD = 0.6
"""The table doubles before more than this share of its slots are taken."""
FIRST_SLOTS = 1 << 12
FEW = 64
"""Probes still going when they are this few go on one at a time: a numpy step costs
more than its work then, and the longest probes take dozens of steps."""


class KeyTable:
    """Keys in the order added, each found from its hash."""

    def __init__(self) -> None:
        self._slots: Int32Array = np.full(FIRST_SLOTS, EMPTY, np.int32)
        self._hashes = array("q")
        """Each key's hash, to tell candidates apart and to place keys again as the table
        grows."""

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, hashes: Int64Array) -> None:
        """Add keys `len(self)`, `len(self) + 1`, … with these hashes."""
        first = len(self)
        self._hashes.frombytes(np.asarray(hashes, np.int64).tobytes())
        if len(self) <= MAX_LOAD * len(self._slots):
            _place(self._slots, hashes, np.arange(first, len(self)))
            return
        size = len(self._slots)
        while len(self) > MAX_LOAD * size:
            size *= 2
        self._slots = np.full(size, EMPTY, np.int32)
        _place(self._slots, np.frombuffer(self._hashes, np.int64), np.arange(len(self)))

    def first_keys(self, hashes: Int64Array) -> Int64Array:
        """For each hash, the first key along its probe with that hash, else EMPTY. The
        owner checks each against its name; if it is another name's, `keys_of` goes on."""
        found = np.full(len(hashes), EMPTY, np.int64)
        if not len(self):
            return found
        slots = self._slots
        mask = len(slots) - 1
        known = np.frombuffer(self._hashes, np.int64)
        pending = np.arange(len(hashes))
        probes = hashes & mask
        while len(pending) > FEW:
            keys = slots[probes]
            agree = (known[keys] == hashes[pending]) & (keys != EMPTY)
            found[pending[agree]] = keys[agree]
            going = ~agree & (keys != EMPTY)
            pending, probes = pending[going], (probes[going] + 1) & mask
        for position, probe in zip(pending.tolist(), probes.tolist(), strict=True):
            found[position] = next(self._keys_from(probe, int(hashes[position])), EMPTY)
        return found

    def keys_of(self, name_hash: int) -> Iterator[int]:
        """Every key with this hash, along its probe: the owner takes the one whose name
        is the one it looks for."""
        return self._keys_from(name_hash & (len(self._slots) - 1), name_hash)

    def _keys_from(self, probe: int, name_hash: int) -> Iterator[int]:
        slots = self._slots
        mask = len(slots) - 1
        hashes = self._hashes
        while (key := slots.item(probe)) != EMPTY:
            if hashes[key] == name_hash:
                yield key
            probe = (probe + 1) & mask


def _place(slots: Int32Array, hashes: Int64Array, keys: Int64Array) -> None:
    """Put each key in the first empty slot from its hash on, in rounds: where several
    keys want one empty slot, one takes it and the others go on."""
    mask = len(slots) - 1
    probes = hashes & mask
    while len(keys) > FEW:
        free = slots[probes] == EMPTY
        slots[probes[free]] = keys[free]
        waiting = ~free | (slots[probes] != keys)
        keys, probes, free = keys[waiting], probes[waiting], free[waiting]
        probes = np.where(free, probes, (probes + 1) & mask)
    for key, probe in zip(keys.tolist(), probes.tolist(), strict=True):
        while slots.item(probe) != EMPTY:
            probe = (probe + 1) & mask
        slots[probe] = key
