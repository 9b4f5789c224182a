"""Player ids by platform identity: a compact cache, batched lookups on the reader, and writes
only for new players and renames.

Every answer, vote and command first maps its sender (platform, user id, display name) to a
player id. Before issue 17 a sender not in the cache took the writer for a transaction (a
SELECT and a no-op UPDATE, four round trips holding the write lock): after every restart, and
whenever more players were active than the cache held, answers fell from 12,000/s to 2,600/s
(1,170/s with 120,000 players). Now a sender not in the cache is looked up on the reader
connection, together with every other sender missed in the same turn of the event loop (one
query for all of them), and only a new player or a changed name is a write.

One process per database file also lets the cache know everyone: the first lookup of a sender
not cached starts a read of every stored sender in the background, a page at a time, when they
all fit in the cache. Once it has finished, and for as long as nobody was dropped from the
cache, a sender not in it is a new one: created on the writer at once, without the read
before it (a new player's first answer was one thread trip longer than every later one:
bench/README.md, issue 15), and nobody returning after a restart waits for a read. A sender
the cache missed anyway (another program added them to the file) is still found: creating
looks the sender up first, in the same transaction.

The cache (bot/storage/rows/players.py, shared with PostgreSQL) holds one small int per
sender: the player id and a hash of the name last stored, so a rename is still noticed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

from bot.core.common.identity import Platform, UserRef
from bot.storage.rows.players import CACHE_SIZE, CachedPlayers, PlayerCache, cache_key
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import from_json, json_text

__all__ = ["CACHE_SIZE", "Players"]

log = logging.getLogger(__name__)
_PLATFORMS = {p.value: p for p in Platform}  # the platforms this version serves

PRELOAD_PAGE = 1_000  # stored senders read and cached at a time (about 2 ms of the loop a page)
_COUNT_SQL = "SELECT count(*) FROM identities"
_PAGE_SQL = """
SELECT i.platform, i.user_id, i.player_id, p.name FROM identities i
JOIN players p ON p.id = i.player_id
WHERE (i.platform, i.user_id) > (?, ?) ORDER BY i.platform, i.user_id LIMIT ?
"""
_RENAME_SQL = "UPDATE players SET name = ? WHERE id = ? AND name != ?"  # no write if unchanged
_LOOKUP_SQL = """
SELECT json_group_array(json_array(req.key, i.player_id, p.name))
FROM json_each(?) AS req
JOIN identities i ON i.platform = json_extract(req.value, '$[0]')
    AND i.user_id = json_extract(req.value, '$[1]')
JOIN players p ON p.id = i.player_id
"""


def _create(conn: sqlite3.Connection, platform: str, user_id: str, name: str) -> int:
    """On the writer's thread, in a transaction: the sender's player id, creating the player
    if they are new (another process, or an earlier call, may have created them meanwhile)."""
    row = conn.execute(
        "SELECT player_id FROM identities WHERE platform = ? AND user_id = ?",
        (platform, user_id),
    ).fetchone()
    if row is not None:
        conn.execute(_RENAME_SQL, (name, row[0], name))
        return int(row[0])
    cursor = conn.execute(
        "INSERT INTO players (name, created_at) VALUES (?, ?)", (name, time.time())
    )
    player_id = int(cursor.lastrowid or 0)
    conn.execute(
        "INSERT INTO identities (platform, user_id, player_id) VALUES (?, ?, ?)",
        (platform, user_id, player_id),
    )
    return player_id


class Players(CachedPlayers):
    """Maps senders to player ids for the quiz store."""

    def __init__(self, db: Database, cache_size: int = CACHE_SIZE, *, preload: bool = True) -> None:
        super().__init__(PlayerCache(cache_size))
        self._db = db
        self._wanted: dict[tuple[str, str], asyncio.Future[tuple[int, str] | None]] = {}
        self._may_preload = preload
        self._preload: asyncio.Task[None] | None = None
        self._everyone = False  # the preload cached every stored sender

    @property
    def knows_everyone(self) -> bool:
        """Whether every stored sender is cached, so that one not cached is new."""
        return self._everyone and len(self._cache) < self._cache.size

    async def preloaded(self) -> None:
        """Wait for the background preload started by the first lookup (if it was)."""
        if self._preload is not None:
            await asyncio.shield(self._preload)

    async def _find_or_create(self, user: UserRef, name: str) -> int:
        if self.knows_everyone:
            return await self._create(user, name)
        if self._preload is None and self._may_preload:
            self._preload = asyncio.ensure_future(self._read_everyone())
        found = await asyncio.shield(self._lookup(user.platform.value, user.user_id))
        if found is None:
            return await self._create(user, name)
        player_id, stored = found
        if stored != name:
            await self._rename(player_id, name)
        return player_id

    async def _create(self, user: UserRef, name: str) -> int:
        return await self._db.write_with(
            lambda conn: _create(conn, user.platform.value, user.user_id, name)
        )

    async def _rename(self, player_id: int, name: str) -> None:
        await self._db.write(_RENAME_SQL, (name, player_id, name))

    async def _read_everyone(self) -> None:
        """Cache every stored sender, a page at a time, if they all fit; an entry cached
        meanwhile (a rename, a new player) is newer than the page and kept."""
        try:
            (count,) = (await self._db.read(_COUNT_SQL))[0]
            if count >= self._cache.size:
                return  # they do not all fit: lookups stay as they are
            after: tuple[str, str] = ("", "")
            while True:
                rows = await self._db.read(_PAGE_SQL, (*after, PRELOAD_PAGE))
                for stored_platform, user_id, player_id, name in rows:
                    platform = _PLATFORMS.get(stored_platform)
                    if platform is None:
                        continue  # not a platform this version serves: never looked up
                    key = cache_key(UserRef(platform, user_id))
                    if key not in self._cache:
                        self._cache.put(key, player_id, name)
                if len(rows) < PRELOAD_PAGE:
                    break
                after = (rows[-1][0], rows[-1][1])
            self._everyone = True
        except Exception as exc:  # the database closing, say: lookups stay as they are
            log.info("player cache: not preloaded (%s)", exc)

    def _lookup(self, platform: str, user_id: str) -> asyncio.Future[tuple[int, str] | None]:
        """(player id, stored name), or None for a new sender, from one read shared by every
        sender looked up in this turn of the event loop."""
        wanted = (platform, user_id)
        future = self._wanted.get(wanted)
        if future is None:
            loop = asyncio.get_running_loop()
            if not self._wanted:
                loop.call_soon(self._read_wanted)
            future = self._wanted[wanted] = loop.create_future()
        return future

    def _read_wanted(self) -> None:
        wanted, self._wanted = self._wanted, {}
        task = asyncio.ensure_future(self._resolve(wanted))
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())

    async def _resolve(
        self, wanted: dict[tuple[str, str], asyncio.Future[tuple[int, str] | None]]
    ) -> None:
        keys = list(wanted)
        try:
            rows = await self._db.read(_LOOKUP_SQL, (json_text(keys),))
        except BaseException as exc:
            for future in wanted.values():
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
            if not isinstance(exc, Exception):
                raise
            return
        found = {k: (pid, stored) for k, pid, stored in from_json(rows[0][0])}
        for k, future in enumerate(wanted.values()):
            if not future.done():
                future.set_result(found.get(k))
