"""Telegram's inbox of fetched updates over a Database (the UpdateInbox port of
bot/core/delivery.py): stored before they are confirmed to Telegram, marked done once
processed, keyed by update id (table `telegram_inbox`, migration 8).

One contract test suite holds this and the in-memory inbox (bot/storage/memory/inbox.py) to
the same behaviour.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from bot.core.delivery import Inbound
from bot.storage.sqlite.database import Database

__all__ = ["SqliteUpdateInbox"]

# one statement for a whole batch: [[update_id, payload], ...] as a JSON array
_ADD = """
INSERT INTO telegram_inbox (update_id, payload, received_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?) WHERE true
ON CONFLICT (update_id) DO NOTHING
"""
_PENDING = """
SELECT update_id, payload FROM telegram_inbox
WHERE done_at IS NULL AND update_id > ? ORDER BY update_id LIMIT ?
"""
_DONE_AMONG = """
SELECT update_id FROM telegram_inbox
WHERE done_at IS NOT NULL AND update_id IN (SELECT value FROM json_each(?))
"""
_MARK_DONE = """
UPDATE telegram_inbox SET done_at = ?
WHERE done_at IS NULL AND update_id IN (SELECT value FROM json_each(?))
"""
_PRUNE = "DELETE FROM telegram_inbox WHERE done_at IS NOT NULL AND update_id < ?"


class SqliteUpdateInbox:
    """The inbox in the bot's SQLite file; every write goes through the Database's writer."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteUpdateInbox({self._db!r})"

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        """One write for the batch; a read only when some were stored before (re-fetched
        after a restart), to leave out those already done."""
        unique = {u.update_id: u for u in updates}
        if not unique:
            return []
        rows = json.dumps([[i, u.payload] for i, u in unique.items()])
        added = await self._db.write(_ADD, (time.time(), rows))
        done: set[int] = set()
        if added < len(unique):
            ids = json.dumps(sorted(unique))
            done = {int(row[0]) for row in await self._db.read(_DONE_AMONG, (ids,))}
        return [unique[i] for i in sorted(unique) if i not in done]

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        floor = -(2**63) if after is None else after
        rows = await self._db.read(_PENDING, (floor, limit))
        return [Inbound(int(update_id), str(payload)) for update_id, payload in rows]

    async def done(self, update_ids: Sequence[int]) -> None:
        if not update_ids:
            return
        await self._db.write(_MARK_DONE, (time.time(), json.dumps(sorted(set(update_ids)))))

    async def prune(self, below: int) -> int:
        return await self._db.write(_PRUNE, (below,))
