"""Folding points into the open windows, and handing on what the store must merge.

Rows `(slot, window start, time, value)` are sorted by slot and time, which groups them
by slot and window with each group's last point (latest time, latest arrival among
equal times, as the sort is stable) at its end, and reduced per group with `reduceat`,
then met with each slot's open window in one vectorised pass:

- a group for the open window joins it;
- a group for a later window (or for the window just closed, reopened) closes the open
  window and, if it is the slot's last, opens in its place; earlier ones pass through;
- a group for an older window is *late*: it passes through as a partial window of its
  own, which the store merges into what it holds.

What leaves is never more than the points not yet handed on: each slot keeps its whole
open window (for the live view) and the part of its count and sum not yet written, and
a checkpoint writes that part, so every point reaches the store exactly once and the
store's merge (counts and sums added, minima and maxima combined, the last point of the
latest time kept) rebuilds each window. A partial window carries the whole window's
minimum, maximum and last point so far, which the merge takes as it would the part's own.
"""

from __future__ import annotations

import numpy as np

from cyanite_py.counters import Counter
from cyanite_py.engine.columns import Slots
from cyanite_py.model import FloatArray, IntArray, OpenWindow, PathTable, SnapshotBatch


class OpenWindows:
    """The slots' open windows, and the windows they hand on."""

    def __init__(self, slots: Slots, table: PathTable, late: Counter, handed: Counter) -> None:
        self._slots = slots
        self._table = table
        self._late = late
        self._handed = handed

    def add(
        self, slots: IntArray, starts: IntArray, times: IntArray, values: FloatArray
    ) -> list[SnapshotBatch]:
        """Fold `(slot, window start, time, value)` rows in, in the order the points
        arrived; return the windows to hand on."""
        order = np.argsort((slots << 32) | times, kind="stable")
        slots, starts, values = slots[order], starts[order], values[order]
        boundary = np.empty(len(slots), dtype=bool)
        boundary[0] = True
        np.not_equal(slots[1:], slots[:-1], out=boundary[1:])
        boundary[1:] |= starts[1:] != starts[:-1]
        heads = np.flatnonzero(boundary)
        ends = np.append(heads, len(slots))
        tails = ends[1:] - 1
        g_slot, g_start = slots[heads], starts[heads]
        g_count = np.diff(ends)
        g_sum = np.add.reduceat(values, heads)
        g_min = np.minimum.reduceat(values, heads)
        g_max = np.maximum.reduceat(values, heads)
        g_last, g_last_time = values[tails], times[order[tails]]

        s = self._slots
        open_start = s.start[g_slot]
        is_open = s.count[g_slot] > 0
        later = (g_start > open_start) | ((g_start == open_start) & ~is_open)
        late = g_start < open_start
        if late.any():
            self._late.inc(int(g_count[late].sum()))
        # Each group goes one way; positions, not masks, pick them out of every column.
        same = np.flatnonzero((g_start == open_start) & is_open)
        last_of_slot = np.append(g_slot[1:] != g_slot[:-1], True)
        opening = np.flatnonzero(later & last_of_slot)
        through = np.flatnonzero(late | (later & ~last_of_slot))

        joining = g_slot[same]
        count, total = g_count[same], g_sum[same]
        s.count[joining] += count
        s.sum[joining] += total
        s.unsaved_count[joining] += count
        s.unsaved_sum[joining] += total
        np.minimum.at(s.min, joining, g_min[same])
        np.maximum.at(s.max, joining, g_max[same])
        offsets = g_last_time[same] - g_start[same]
        later_last = np.flatnonzero(offsets >= s.last_offset[joining])  # equal: arrived later
        s.last[joining[later_last]] = g_last[same[later_last]]
        s.last_offset[joining[later_last]] = offsets[later_last]

        replaced = g_slot[opening]
        handed = [self.close(replaced[s.count[replaced] > 0])]
        handed.append(
            self._batch(
                g_slot[through],
                g_start[through],
                g_count[through],
                g_sum[through],
                g_min[through],
                g_max[through],
                g_last[through],
                g_last_time[through],
            )
        )
        s.reopened[replaced] = g_start[opening] == s.start[replaced]
        s.start[replaced] = g_start[opening]
        s.count[replaced] = s.unsaved_count[replaced] = g_count[opening]
        s.sum[replaced] = s.unsaved_sum[replaced] = g_sum[opening]
        s.min[replaced] = g_min[opening]
        s.max[replaced] = g_max[opening]
        s.last[replaced] = g_last[opening]
        s.last_offset[replaced] = g_last_time[opening] - g_start[opening]
        return handed

    def due(self, now: int, grace: int) -> IntArray:
        """Slots whose open window ended more than `grace` seconds before `now`."""
        s = self._slots
        return np.flatnonzero((s.count > 0) & (s.start + s.precision + grace <= now))

    def open_slots(self) -> IntArray:
        return np.flatnonzero(self._slots.count > 0)

    def open_past(self, moment: int, grace: int) -> IntArray:
        """Slots whose open window will still be open at `moment`."""
        s = self._slots
        return np.flatnonzero((s.count > 0) & (s.start + s.precision + grace > moment))

    def close(self, slots: IntArray) -> SnapshotBatch:
        """Close these slots' open windows; return the part not yet handed on."""
        handed = self.save(slots)
        self._slots.count[slots] = 0
        return handed

    def save(self, slots: IntArray) -> SnapshotBatch:
        """The part of these slots' open windows not yet handed on, now counted as handed."""
        s = self._slots
        slots = slots[s.unsaved_count[slots] > 0]
        batch = self._batch(
            slots,
            s.start[slots],
            s.unsaved_count[slots],
            s.unsaved_sum[slots],
            s.min[slots],
            s.max[slots],
            s.last[slots],
            s.start[slots] + s.last_offset[slots],
        )
        s.unsaved_count[slots] = 0
        s.unsaved_sum[slots] = 0.0
        return batch

    def unsaved(self) -> int:
        """Open windows holding points not yet handed on."""
        return int(np.count_nonzero(self._slots.unsaved_count))

    def window(self, slot: int) -> OpenWindow | None:
        """The whole open window of `slot`, unless it has none or it was closed before and
        the store holds the rest of it."""
        s = self._slots
        if s.count[slot] == 0 or s.reopened[slot]:
            return None
        return (
            int(s.start[slot]),
            int(s.count[slot]),
            float(s.sum[slot]),
            float(s.min[slot]),
            float(s.max[slot]),
            float(s.last[slot]),
        )

    def _batch(
        self,
        slots: IntArray,
        starts: IntArray,
        counts: IntArray,
        sums: FloatArray,
        mins: FloatArray,
        maxs: FloatArray,
        lasts: FloatArray,
        last_times: IntArray,
    ) -> SnapshotBatch:
        s = self._slots
        self._handed.inc(len(slots))
        return SnapshotBatch(
            self._table,
            s.path_id[slots].astype(np.int64),
            s.precision[slots].astype(np.int64),
            s.period[slots].astype(np.int64),
            starts,
            counts,
            sums,
            mins,
            maxs,
            [],
            lasts,
            last_times,
        )
