"""Own rank on big boards, SQLite's reads: the logic (an exact count near the top, a snapshot
of the board's points below) is bot/storage/rows/ranks.py, shared with PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.rows import ranks as shared
from bot.storage.sqlite.database import Database

_SNAPSHOT_SQL = (
    "SELECT points, count(*) FROM scores WHERE scope = ? AND period = ? AND points > 0 "
    "GROUP BY points ORDER BY points DESC"
)
_COUNT_SQL = "SELECT count(*) FROM scores WHERE scope = ? AND period = ? AND points > ?"


class Ranks(shared.Ranks):
    """Snapshots of the boards asked about, read on the reader connection."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db

    async def _points(self, scope: str, period: str) -> Sequence[Sequence[int]]:
        rows: Sequence[Sequence[int]] = await self._db.read(_SNAPSHOT_SQL, (scope, period))
        return rows

    async def _count(self, scope: str, period: str, points: int) -> int:
        rows = await self._db.read(_COUNT_SQL, (scope, period, points))
        return int(rows[0][0])
