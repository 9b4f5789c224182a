"""Own rank on a board without counting every player above on every call (both SQL engines).

A rank is one plus the number of players with more points on the board (ties share a rank).
Counting them walks the board's index, so its cost grew with the players above: at 100,000
players a rank near the bottom took milliseconds. Now the count stops at EXACT_ABOVE: a player
with fewer above them (everyone near the top, where ranks are compared) gets the exact count,
and one further down gets it from a snapshot of the board's points, one row per points value,
read in the background at most every SNAPSHOT_AGE seconds. Such a rank is at most that old (a
player who has just scored is placed by their new points among the others' points as they
were then); the top and the player's own points are always read live.

Each engine supplies the two reads (`_points`, `_count`) in its own SQL.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

EXACT_ABOVE = 1_000  # players above counted exactly (at most this many index entries a call)
SNAPSHOT_AGE = 5.0  # seconds a board's snapshot is used before it is read again


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """A board's points when it was read: `keys`, each points value negated (ascending, for
    bisect); `above[i]`, the players with more points than -keys[i] (prefix sums)."""

    at: float
    keys: list[int]
    above: list[int]

    def above_points(self, points: int) -> int:
        """How many players had more than `points`."""
        return self.above[bisect.bisect_left(self.keys, -points)]


def _snapshot(rows: Sequence[Sequence[int]], at: float) -> _Snapshot:
    keys, above = [], [0]
    for points, count in rows:  # points descending
        keys.append(-points)
        above.append(above[-1] + count)
    return _Snapshot(at, keys, above)


class Ranks:
    """Snapshots of the boards asked about, refreshed in the background."""

    def __init__(self) -> None:
        self.exact_above = EXACT_ABOVE  # read once: tests may lower the module's value
        self._boards: dict[tuple[str, str], _Snapshot] = {}
        self._reading: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def _points(self, scope: str, period: str) -> Sequence[Sequence[int]]:
        """(points, players with them) of every points value above 0, points descending."""
        raise NotImplementedError

    async def _count(self, scope: str, period: str, points: int) -> int:
        """How many players have more than `points` on the board, counted in full."""
        raise NotImplementedError

    async def above(self, scope: str, period: str, points: int, counted: int) -> int:
        """The number of players with more than `points` on the board, given `counted`: the
        capped count (min(above, exact_above)) read with the player's own row."""
        if counted < self.exact_above:
            return counted
        board = (scope, period)
        snapshot = self._boards.get(board)
        if snapshot is None or time.monotonic() - snapshot.at > SNAPSHOT_AGE:
            self._refresh(board)
        if snapshot is None:  # the first time this board is asked about: count it all once
            return await self._count(scope, period, points)
        return max(self.exact_above, snapshot.above_points(points))

    def _refresh(self, board: tuple[str, str]) -> None:
        if board in self._reading:
            return
        task = asyncio.ensure_future(self._read(board))
        self._reading[board] = task
        task.add_done_callback(lambda _: self._reading.pop(board, None))

    async def _read(self, board: tuple[str, str]) -> None:
        try:
            rows = await self._points(*board)
        except Exception as exc:  # the live count still answers; try again on the next ask
            log.warning("reading the %s %s board's ranks failed: %s", *board, exc)
            return
        self._boards[board] = _snapshot(rows, time.monotonic())
