"""Keys 0, 1, 2, … found by hash in flat numpy columns, for sets of names too large for a
dict's 60-odd bytes an entry (the entry and an int object, besides the name).

A `KeyTable` holds each key's 64-bit hash and an open-addressing table of keys (linear
probing, int32 slots, at most `MAX_LOAD` full): 15 to 25 bytes a key. It knows nothing
of the names themselves: its owner hashes them, and checks each key it offers against
the name, since two names may share a hash. Lookups of many hashes at once run in numpy
a probe step at a time for all of them, then one at a time once few are left.

`NameIndex` is such an owner for names already held in a list: the position of a name
in the list, for about 20 bytes a name where a dict from names to positions takes 60.
"""

from __future__ import annotations

import operator
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
    """Keys in the order added, each found from its hash.

    Lookups may run in other threads while `add` runs: a key's hash is stored before its
    slot, the table is swapped in only once filled, and a lookup reads the slots before
    the hashes, so every key it meets has its hash."""

    def __init__(self) -> None:
        self._slots: Int32Array = np.full(FIRST_SLOTS, EMPTY, np.int32)
        self._hashes: Int64Array = np.zeros(FIRST_SLOTS, np.int64)
        """Each key's hash (then unused rows), to tell candidates apart and to place keys
        again as the table grows."""
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, hashes: Int64Array) -> None:
        """Add keys `len(self)`, `len(self) + 1`, … with these hashes."""
        first, count = self._count, self._count + len(hashes)
        if count > len(self._hashes):
            grown = np.zeros(max(count, len(self._hashes) + len(self._hashes) // 4), np.int64)
            grown[:first] = self._hashes[:first]
            self._hashes = grown
        self._hashes[first:count] = hashes
        self._count = count
        if count <= MAX_LOAD * len(self._slots):
            _place(self._slots, hashes, np.arange(first, count))
            return
        size = len(self._slots)
        while count > MAX_LOAD * size:
            size *= 2
        slots = np.full(size, EMPTY, np.int32)
        _place(slots, self._hashes[:count], np.arange(count))
        self._slots = slots

    def first_keys(self, hashes: Int64Array) -> Int64Array:
        """For each hash, the first key along its probe with that hash, else EMPTY. The
        owner checks each against its name; if it is another name's, `keys_of` goes on."""
        found = np.full(len(hashes), EMPTY, np.int64)
        slots, known = self._slots, self._hashes
        mask = len(slots) - 1
        pending = np.arange(len(hashes))
        probes = hashes & mask
        while len(pending) > FEW:
            keys = slots[probes]
            agree = (known[keys] == hashes[pending]) & (keys != EMPTY)
            found[pending[agree]] = keys[agree]
            going = ~agree & (keys != EMPTY)
            pending, probes = pending[going], (probes[going] + 1) & mask
        for position, probe in zip(pending.tolist(), probes.tolist(), strict=True):
            keys_met = _keys_from(slots, known, probe, int(hashes[position]))
            found[position] = next(keys_met, EMPTY)
        return found

    def keys_of(self, name_hash: int) -> Iterator[int]:
        """Every key with this hash, along its probe: the owner takes the one whose name
        is the one it looks for."""
        slots, known = self._slots, self._hashes
        return _keys_from(slots, known, name_hash & (len(slots) - 1), name_hash)


class NameIndex:
    """The position of each name in a list of distinct names that only grows (through
    `extend`): a `KeyTable` of their hashes, each candidate checked against the list."""

    def __init__(self, names: list[str]) -> None:
        self._names = names
        self._table = KeyTable()
        self._table.add(np.fromiter(map(hash, names), np.int64, len(names)))

    def extend(self, names: list[str]) -> None:
        """Append names not held yet."""
        self._names.extend(names)
        self._table.add(np.fromiter(map(hash, names), np.int64, len(names)))

    def positions(self, names: list[str]) -> Int64Array:
        """Each name's position, or EMPTY."""
        hashes = np.fromiter(map(hash, names), np.int64, len(names))
        found = self._table.first_keys(hashes)
        candidates = np.flatnonzero(found != EMPTY)
        held = map(self._names.__getitem__, found[candidates].tolist())
        asked = map(names.__getitem__, candidates.tolist())
        same = np.fromiter(map(operator.eq, held, asked), np.bool_, len(candidates))
        for position in candidates[~same].tolist():
            found[position] = self.position(names[position])
        return found

    def position(self, name: str) -> int:
        """The name's position, or EMPTY."""
        names = self._names
        return next((key for key in self._table.keys_of(hash(name)) if names[key] == name), EMPTY)


def _keys_from(slots: Int32Array, hashes: Int64Array, probe: int, name_hash: int) -> Iterator[int]:
    mask = len(slots) - 1
    while (key := slots.item(probe)) != EMPTY:
        if hashes.item(key) == name_hash:
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
