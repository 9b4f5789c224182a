"""The daily question's DailyStore on PostgreSQL, where several processes share the tables.

The same contract as the SQLite store (bot/storage/sqlite/daily.py; one contract test suite),
each step one statement that takes what it takes atomically, whichever process runs it:

- a claim is inserted once per (subscription, local date): INSERT ... ON CONFLICT DO NOTHING
  RETURNING; the loser reads the winner's claim in a statement of its own (a fresh snapshot,
  so it sees the row it waited for);
- a delivery is taken by one upsert whose WHERE lets it through only when it is new, UNCERTAIN
  or FAILED with attempts left; a second sender finds it SENDING and gets None;
- a claim's round is set once (UPDATE ... WHERE round_id IS NULL).

recover() marks every SENDING delivery UNCERTAIN, as on SQLite, whichever process took it:
with several processes only the scheduler leader posts, and only the leader calls recover(),
when it starts leading (bot/app/run.py runs the daily jobs under bot/jobs/leader.py). By then
the previous leader has stopped: it handed over after its work ended, or it is dead, or the
new leader waited `Timing.settle` for one that lost its connection to notice and stop (its
posts cut off mid-way stay SENDING). So a SENDING delivery at that moment is one nobody will
finish, and a follower process starting never touches the leader's posts in flight.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.core.common.errors import StorageUnavailable
from bot.core.common.identity import ChatRef
from bot.core.daily.model import Claim, Delivery, DeliveryKind, DeliveryState, Subscription
from bot.core.daily.ports import DailyStore
from bot.storage.postgres.database import UNREACHABLE, PgDatabase, affected
from bot.storage.rows.daily import (
    CLAIM_COLUMNS,
    DELIVERY_COLUMNS,
    SAVED_COLUMNS,
    SAVED_UPDATE,
    SETTLED_REVEAL,
    SUBSCRIPTION_COLUMNS,
    subscription_values,
)
from bot.storage.rows.daily import claim as _claim
from bot.storage.rows.daily import delivery as _delivery
from bot.storage.rows.daily import subscription as _sub
from bot.storage.rows.values import to_ts

__all__ = ["PgDailyStore"]

_SELECT_SUBS = f"SELECT {SUBSCRIPTION_COLUMNS} FROM daily_subscriptions "  # noqa: S608
_SELECT_CLAIMS = f"SELECT {CLAIM_COLUMNS} FROM daily_claims c "  # noqa: S608
_SAVE = (
    f"INSERT INTO daily_subscriptions ({SAVED_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(SAVED_COLUMNS.split(', ')) + 1))}) "
    f"ON CONFLICT (platform, chat_id) DO UPDATE SET {SAVED_UPDATE} RETURNING id"
)
_CLAIM = f"""
INSERT INTO daily_claims AS c (subscription_id, local_date, question_id, fire_at, closes_at,
    claimed_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (subscription_id, local_date) DO NOTHING
RETURNING {CLAIM_COLUMNS}
"""  # noqa: S608
_BEGIN = """
INSERT INTO daily_deliveries (claim_id, kind, chat_key, state, attempts, updated_at)
VALUES ($1, $2, $3, 'sending', 1, $4)
ON CONFLICT (claim_id, kind) DO UPDATE SET
    state = 'sending', attempts = daily_deliveries.attempts + 1, error = NULL,
    updated_at = excluded.updated_at
WHERE daily_deliveries.state = 'uncertain'
    OR (daily_deliveries.state = 'failed' AND daily_deliveries.attempts < $5)
RETURNING attempts
"""


class PgDailyStore:
    """The daily tables in a PgDatabase."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"PgDailyStore({self._db!r})"

    async def save_subscription(self, sub: Subscription) -> Subscription:
        values = subscription_values(sub, datetime.now(UTC).timestamp())
        sub_id = await self._db.fetchval(_SAVE, *values)
        return replace(sub, id=int(sub_id))

    async def subscription(self, sub_id: int) -> Subscription | None:
        row = await self._db.fetchrow(_SELECT_SUBS + "WHERE id = $1", sub_id)
        return _sub(row) if row is not None else None

    async def subscription_for(self, chat: ChatRef) -> Subscription | None:
        row = await self._db.fetchrow(
            _SELECT_SUBS + "WHERE platform = $1 AND chat_id = $2",
            chat.platform.value, chat.chat_id,
        )  # fmt: skip
        return _sub(row) if row is not None else None

    async def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        rows = await self._db.fetch(
            _SELECT_SUBS + "WHERE active = 1 OR $1 ORDER BY id", not active_only
        )
        return [_sub(r) for r in rows]

    async def claim(
        self, sub_id: int, day: date, question_id: str, fire_at: datetime, closes_at: datetime
    ) -> tuple[Claim, bool]:
        """The insert, then (when another process won) the winner's claim, read by a
        statement of its own: the insert's snapshot predates the row it waited for."""
        at = datetime.now(UTC).timestamp()
        async with self._db.connection() as conn:
            for _ in range(3):
                row = await conn.fetchrow(
                    _CLAIM, sub_id, day.isoformat(), question_id, to_ts(fire_at),
                    to_ts(closes_at), at,
                )  # fmt: skip
                if row is not None:
                    return _claim(row), True
                row = await conn.fetchrow(
                    _SELECT_CLAIMS + "WHERE c.subscription_id = $1 AND c.local_date = $2",
                    sub_id, day.isoformat(),
                )  # fmt: skip
                if row is not None:  # else deleted meanwhile (a restore): insert again
                    return _claim(row), False
        raise StorageUnavailable(UNREACHABLE)

    async def get_claim(self, claim_id: int) -> Claim | None:
        row = await self._db.fetchrow(_SELECT_CLAIMS + "WHERE c.id = $1", claim_id)
        return _claim(row) if row is not None else None

    async def set_claim_round(self, claim_id: int, round_id: str) -> bool:
        status = await self._db.execute(
            "UPDATE daily_claims SET round_id = $1 WHERE id = $2 AND round_id IS NULL",
            round_id, claim_id,
        )  # fmt: skip
        return affected(status) == 1

    async def open_claims(self, closes_after: datetime) -> list[Claim]:
        rows = await self._db.fetch(
            _SELECT_CLAIMS + "LEFT JOIN daily_deliveries d "
            "ON d.claim_id = c.id AND d.kind = 'reveal' "
            "WHERE c.closes_at > $1 AND (d.state IS NULL OR d.state <> ALL($2::text[])) "
            "ORDER BY c.closes_at, c.id",
            to_ts(closes_after), list(SETTLED_REVEAL),
        )  # fmt: skip
        return [_claim(r) for r in rows]

    async def begin_delivery(
        self, claim_id: int, kind: DeliveryKind, chat_key: str, max_attempts: int, at: datetime
    ) -> int | None:
        attempt = await self._db.fetchval(
            _BEGIN, claim_id, kind.value, chat_key, to_ts(at), max_attempts
        )
        return int(attempt) if attempt is not None else None

    async def finish_delivery(
        self,
        claim_id: int,
        kind: DeliveryKind,
        state: DeliveryState,
        at: datetime,
        *,
        message_ref: str | None = None,
        error: str | None = None,
    ) -> None:
        await self._db.execute(
            "UPDATE daily_deliveries SET state = $1, message_ref = coalesce($2, message_ref), "
            "error = $3, updated_at = $4 WHERE claim_id = $5 AND kind = $6",
            state.value, message_ref, error, to_ts(at), claim_id, kind.value,
        )  # fmt: skip

    async def delivery(self, claim_id: int, kind: DeliveryKind) -> Delivery | None:
        row = await self._db.fetchrow(
            f"SELECT {DELIVERY_COLUMNS} FROM daily_deliveries "  # noqa: S608
            "WHERE claim_id = $1 AND kind = $2",
            claim_id, kind.value,
        )  # fmt: skip
        return _delivery(claim_id, kind, row) if row is not None else None

    async def recover(self) -> int:
        """Every SENDING delivery -> UNCERTAIN: called by the leader as it starts, when no
        other process is posting (the module's docstring)."""
        status = await self._db.execute(
            "UPDATE daily_deliveries SET state = 'uncertain' WHERE state = 'sending'"
        )
        return affected(status)


def _conforms(store: PgDailyStore) -> DailyStore:
    return store  # mypy checks that the repository satisfies the protocol
