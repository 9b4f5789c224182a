"""Telegram's inbox of fetched updates in memory (tests, dry runs): the UpdateInbox port of
bot/core/delivery.py, held to the same contract tests as the SQLite inbox
(bot/storage/sqlite/inbox.py). It survives nothing, so it guarantees nothing across restarts.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.delivery import Inbound

__all__ = ["MemoryUpdateInbox"]


class MemoryUpdateInbox:
    """update id -> (the update, done)."""

    def __init__(self) -> None:
        self._updates: dict[int, tuple[Inbound, bool]] = {}

    def __repr__(self) -> str:
        return f"MemoryUpdateInbox({len(self._updates)} updates)"

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        for update in updates:
            self._updates.setdefault(update.update_id, (update, False))
        fresh = {u.update_id: u for u in updates if not self._updates[u.update_id][1]}
        return [fresh[i] for i in sorted(fresh)]

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        ids = sorted(
            i for i, (_, done) in self._updates.items() if not done and (after is None or i > after)
        )
        return [self._updates[i][0] for i in ids[:limit]]

    async def done(self, update_ids: Sequence[int]) -> None:
        for i in update_ids:
            if i in self._updates:
                self._updates[i] = (self._updates[i][0], True)

    async def prune(self, below: int) -> int:
        gone = [i for i, (_, done) in self._updates.items() if done and i < below]
        for i in gone:
            del self._updates[i]
        return len(gone)
