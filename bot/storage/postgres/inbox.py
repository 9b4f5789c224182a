"""Telegram's inbox of received updates on PostgreSQL (the UpdateInbox port of
bot/core/delivery.py), shared by several webhook workers behind a load balancer.

The same contract as the SQLite inbox (bot/storage/sqlite/inbox.py; one contract test suite),
and one more rule for several workers: an update is processed by one worker at a time. Telegram
may send an update again to another worker while the first still processes it (its 200 was
lost), and every worker reads what is left undone at its start; so what add() and pending()
return is claimed for this inbox, for a lease of LEASE seconds:

- they return only the updates this call stored or claimed: none done, none claimed by
  another worker whose lease runs (a row's claim is taken by one statement, which the server
  serializes per row: of two workers claiming one update, one gets it);
- an update whose claim ran out (its worker was killed mid-update, or stopped) is claimed by
  the next add() or pending() that meets it: the receivers' sweep (bot/adapters/telegram/
  receiving.py) asks every SWEEP_EVERY seconds;
- a worker's own claims come back to it (handed out again; its lanes skip what they hold), and
  its calls renew all of them while they are not done, at most every LEASE / 3.

Leases run on the database server's clock, the one clock every worker shares. An update whose
worker stalls for longer than the lease (the database out of reach all that time) may be
processed by another worker too.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Sequence

from bot.core.delivery import Inbound
from bot.storage.postgres.database import PgDatabase, affected

__all__ = ["LEASE", "PgUpdateInbox"]

LEASE = 60.0
"""Seconds an update stays claimed by the worker that took it, unless renewed."""

_NOW = "extract(epoch FROM clock_timestamp())::double precision"
# the batch in id order (one lock order for every worker); a row already stored gets this
# worker's claim only when it is not done and not claimed by a live other worker
_ADD = f"""
INSERT INTO telegram_inbox AS t (update_id, payload, received_at, claimed_by, claimed_until)
SELECT u.id, u.payload, n.at, $3, n.at + $4
FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(id, payload, i),
    (SELECT {_NOW} AS at) AS n
ORDER BY u.i
ON CONFLICT (update_id) DO UPDATE SET
    claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
WHERE t.done_at IS NULL
    AND (t.claimed_by IS NULL OR t.claimed_by = excluded.claimed_by
         OR t.claimed_until < excluded.received_at)
RETURNING t.update_id
"""  # noqa: S608
# the first `limit` claimable undone updates above `after`; rows another worker is claiming
# this moment are skipped (SKIP LOCKED), rows it claimed meanwhile are checked again
_PENDING = f"""
WITH n AS (SELECT {_NOW} AS at),
picked AS (
    SELECT t.update_id FROM telegram_inbox t, n
    WHERE t.done_at IS NULL AND ($1::bigint IS NULL OR t.update_id > $1)
        AND (t.claimed_by IS NULL OR t.claimed_by = $3 OR t.claimed_until < n.at)
    ORDER BY t.update_id LIMIT $2
    FOR UPDATE OF t SKIP LOCKED
)
UPDATE telegram_inbox t SET claimed_by = $3, claimed_until = n.at + $4
FROM picked, n WHERE t.update_id = picked.update_id
RETURNING t.update_id, t.payload
"""  # noqa: S608
_RENEW = f"""
UPDATE telegram_inbox SET claimed_until = {_NOW} + $2
WHERE claimed_by = $1 AND done_at IS NULL
"""  # noqa: S608
_DONE = f"""
UPDATE telegram_inbox SET done_at = {_NOW}
WHERE done_at IS NULL AND update_id = ANY($1::bigint[])
"""  # noqa: S608
_PRUNE = "DELETE FROM telegram_inbox WHERE done_at IS NOT NULL AND update_id < $1"


class PgUpdateInbox:
    """The inbox in a PgDatabase, for one worker (process): its token marks its claims."""

    def __init__(self, database: PgDatabase, *, lease: float = LEASE) -> None:
        self._db = database
        self.lease = lease
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._renewed = time.monotonic()

    def __repr__(self) -> str:
        return f"PgUpdateInbox({self._db!r}, worker {self.worker!r})"

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        """One statement for the batch: stores the new updates and claims them, with those
        stored before that are neither done nor another live worker's."""
        unique = {u.update_id: u for u in updates}
        if not unique:
            return []
        await self._renew_if_due()
        ids = sorted(unique)
        rows = await self._db.fetch(
            _ADD, ids, [unique[i].payload for i in ids], self.worker, self.lease
        )
        claimed = {int(row[0]) for row in rows}
        return [unique[i] for i in ids if i in claimed]

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        await self._renew_if_due()
        rows = await self._db.fetch(_PENDING, after, limit, self.worker, self.lease)
        found = sorted((int(update_id), str(payload)) for update_id, payload in rows)
        return [Inbound(update_id, payload) for update_id, payload in found]

    async def done(self, update_ids: Sequence[int]) -> None:
        if not update_ids:
            return
        await self._renew_if_due()
        await self._db.execute(_DONE, sorted(set(update_ids)))

    async def prune(self, below: int) -> int:
        return affected(await self._db.execute(_PRUNE, below))

    async def _renew_if_due(self) -> None:
        """Extend every claim of this worker not done yet, at most every lease / 3: its
        updates still waiting in a busy lane stay its own."""
        if time.monotonic() - self._renewed < self.lease / 3:
            return
        await self._db.execute(_RENEW, self.worker, self.lease)
        self._renewed = time.monotonic()
