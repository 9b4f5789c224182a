"""Own rank on big boards, PostgreSQL's reads: the logic (an exact count near the top, a
snapshot of the board's points below) is bot/storage/rows/ranks.py, shared with SQLite. Both
reads walk the `scores_board` index (scope, period, points DESC, ...)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.postgres.database import PgDatabase
from bot.storage.rows import ranks as shared

_SNAPSHOT_SQL = (
    "SELECT points, count(*) FROM scores WHERE scope = $1 AND period = $2 AND points > 0 "
    "GROUP BY points ORDER BY points DESC"
)
_COUNT_SQL = "SELECT count(*) FROM scores WHERE scope = $1 AND period = $2 AND points > $3"


class PgRanks(shared.Ranks):
    """Snapshots of the boards asked about, read from the pool."""

    def __init__(self, db: PgDatabase) -> None:
        super().__init__()
        self._db = db

    async def _points(self, scope: str, period: str) -> Sequence[Sequence[int]]:
        return [(r[0], r[1]) for r in await self._db.fetch(_SNAPSHOT_SQL, scope, period)]

    async def _count(self, scope: str, period: str, points: int) -> int:
        return int(await self._db.fetchval(_COUNT_SQL, scope, period, points))
