"""Player ids by platform identity on PostgreSQL: the shared cache, one read for a sender not
in it, and writes only for new players and renames, none of them contended.

A new sender is created by one statement (`_CREATE_SQL`): it claims the identity with ON
CONFLICT DO NOTHING, drawing the new player's id from the players' sequence, and inserts the
player row in the same statement (the identity's foreign key is checked at its end). So two
processes seeing a new sender at once both run it; one creates the player, the other gets no
row and reads the winner's id: no lock is waited for, and no orphan player row is left.

Another process may rename a cached player; the cache stores a name again after
NAME_CHECK_AGE seconds, in the background (bot/storage/rows/players.py), so a rename there is
overwritten by the name this process sees within that time.
"""

from __future__ import annotations

import time

from bot.core.common.identity import UserRef
from bot.storage.postgres.database import PgDatabase
from bot.storage.rows.players import CACHE_SIZE, CachedPlayers, PlayerCache

NAME_CHECK_AGE = 60.0  # seconds before a cached name is written again (a no-op if unchanged)

_LOOKUP_SQL = (
    "SELECT i.player_id, p.name FROM identities i JOIN players p ON p.id = i.player_id "
    "WHERE i.platform = $1 AND i.user_id = $2"
)
_RENAME_SQL = "UPDATE players SET name = $2 WHERE id = $1 AND name IS DISTINCT FROM $2"
_CREATE_SQL = """
WITH claimed AS (
    INSERT INTO identities (platform, user_id, player_id)
    VALUES ($1, $2, nextval(pg_get_serial_sequence('players', 'id')))
    ON CONFLICT (platform, user_id) DO NOTHING
    RETURNING player_id
), created AS (
    INSERT INTO players (id, name, created_at) SELECT player_id, $3, $4 FROM claimed
)
SELECT player_id FROM claimed
"""


class PgPlayers(CachedPlayers):
    """Maps senders to player ids for the PostgreSQL quiz store."""

    def __init__(self, db: PgDatabase, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(PlayerCache(cache_size, max_age=NAME_CHECK_AGE))
        self._db = db

    async def _rename(self, player_id: int, name: str) -> None:
        await self._db.execute(_RENAME_SQL, player_id, name)

    async def _find_or_create(self, user: UserRef, name: str) -> int:
        platform, uid = user.platform.value, user.user_id
        for _ in range(2):  # found, or created here, or created by someone else meanwhile
            row = await self._db.fetchrow(_LOOKUP_SQL, platform, uid)
            if row is not None:
                if row["name"] != name:
                    await self._rename(row["player_id"], name)
                return int(row["player_id"])
            created = await self._db.fetchval(_CREATE_SQL, platform, uid, name, time.time())
            if created is not None:
                return int(created)
        raise RuntimeError(f"the player of {platform} user {uid} was neither found nor created")
