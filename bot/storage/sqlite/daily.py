"""The daily question's DailyStore over a Database: subscriptions, claims, deliveries.

The protocol lives in the core (bot/core/daily/ports.py), since the core uses it; one contract
test suite holds this and the in-memory store (bot/storage/memory/daily.py) to the same
behaviour. Exactly once rests on unique keys here: one claim per (subscription, local date),
one delivery per (claim, kind), taken with inserts that do nothing on conflict.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.core.common.identity import ChatRef
from bot.core.daily.model import Claim, Delivery, DeliveryKind, DeliveryState, Subscription
from bot.core.daily.ports import DailyStore
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
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import to_ts

__all__ = ["SqliteDailyStore"]

_SELECT_SUBS = f"SELECT {SUBSCRIPTION_COLUMNS} FROM daily_subscriptions "  # noqa: S608
_SELECT_CLAIMS = f"SELECT {CLAIM_COLUMNS} FROM daily_claims c "  # noqa: S608
_SAVE = (
    f"INSERT INTO daily_subscriptions ({SAVED_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(SAVED_COLUMNS.split(', ')))}) "
    f"ON CONFLICT (platform, chat_id) DO UPDATE SET {SAVED_UPDATE}"
)
_BEGIN_SQL = """
INSERT INTO daily_deliveries (claim_id, kind, chat_key, state, attempts, updated_at)
VALUES (:claim, :kind, :chat, 'sending', 1, :at)
ON CONFLICT (claim_id, kind) DO UPDATE SET
    state = 'sending', attempts = attempts + 1, error = NULL, updated_at = excluded.updated_at
WHERE state = 'uncertain' OR (state = 'failed' AND attempts < :max)
"""


class SqliteDailyStore:
    """The daily tables, reached only through the Database's reads, writes and transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteDailyStore({self._db!r})"

    async def save_subscription(self, sub: Subscription) -> Subscription:
        values = subscription_values(sub, datetime.now(UTC).timestamp())
        async with self._db.transaction() as conn:
            await conn.execute(_SAVE, values)
            rows = await conn.execute_fetchall(
                "SELECT id FROM daily_subscriptions WHERE platform = ? AND chat_id = ?",
                values[:2],
            )
        return replace(sub, id=int(next(iter(rows))[0]))

    async def subscription(self, sub_id: int) -> Subscription | None:
        rows = await self._db.read(_SELECT_SUBS + "WHERE id = ?", (sub_id,))
        return _sub(rows[0]) if rows else None

    async def subscription_for(self, chat: ChatRef) -> Subscription | None:
        rows = await self._db.read(
            _SELECT_SUBS + "WHERE platform = ? AND chat_id = ?",
            (chat.platform.value, chat.chat_id),
        )
        return _sub(rows[0]) if rows else None

    async def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        rows = await self._db.read(
            _SELECT_SUBS + "WHERE active = 1 OR ? ORDER BY id", (int(not active_only),)
        )
        return [_sub(r) for r in rows]

    async def claim(
        self, sub_id: int, day: date, question_id: str, fire_at: datetime, closes_at: datetime
    ) -> tuple[Claim, bool]:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO daily_claims (subscription_id, local_date, question_id, fire_at, "
                "closes_at, claimed_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (subscription_id, local_date) DO NOTHING",
                (sub_id, day.isoformat(), question_id, to_ts(fire_at), to_ts(closes_at),
                 datetime.now(UTC).timestamp()),
            )  # fmt: skip
            inserted = cursor.rowcount == 1
            rows = await conn.execute_fetchall(
                _SELECT_CLAIMS + "WHERE c.subscription_id = ? AND c.local_date = ?",
                (sub_id, day.isoformat()),
            )
        return _claim(next(iter(rows))), inserted

    async def get_claim(self, claim_id: int) -> Claim | None:
        rows = await self._db.read(_SELECT_CLAIMS + "WHERE c.id = ?", (claim_id,))
        return _claim(rows[0]) if rows else None

    async def set_claim_round(self, claim_id: int, round_id: str) -> bool:
        changed = await self._db.write(
            "UPDATE daily_claims SET round_id = ? WHERE id = ? AND round_id IS NULL",
            (round_id, claim_id),
        )
        return changed == 1

    async def open_claims(self, closes_after: datetime) -> list[Claim]:
        rows = await self._db.read(
            _SELECT_CLAIMS + "LEFT JOIN daily_deliveries d "
            "ON d.claim_id = c.id AND d.kind = 'reveal' "
            "WHERE c.closes_at > ? AND (d.state IS NULL OR d.state NOT IN (?, ?, ?)) "
            "ORDER BY c.closes_at, c.id",
            (to_ts(closes_after), *SETTLED_REVEAL),
        )
        return [_claim(r) for r in rows]

    async def begin_delivery(
        self, claim_id: int, kind: DeliveryKind, chat_key: str, max_attempts: int, at: datetime
    ) -> int | None:
        params = {"claim": claim_id, "kind": kind.value, "chat": chat_key, "at": to_ts(at)}
        async with self._db.transaction() as conn:
            cursor = await conn.execute(_BEGIN_SQL, {**params, "max": max_attempts})
            if cursor.rowcount != 1:
                return None
            rows = await conn.execute_fetchall(
                "SELECT attempts FROM daily_deliveries WHERE claim_id = ? AND kind = ?",
                (claim_id, kind.value),
            )
        return int(next(iter(rows))[0])

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
        await self._db.write(
            "UPDATE daily_deliveries SET state = ?, message_ref = coalesce(?, message_ref), "
            "error = ?, updated_at = ? WHERE claim_id = ? AND kind = ?",
            (state.value, message_ref, error, to_ts(at), claim_id, kind.value),
        )

    async def delivery(self, claim_id: int, kind: DeliveryKind) -> Delivery | None:
        rows = await self._db.read(
            f"SELECT {DELIVERY_COLUMNS} FROM daily_deliveries "  # noqa: S608
            "WHERE claim_id = ? AND kind = ?",
            (claim_id, kind.value),
        )
        return _delivery(claim_id, kind, rows[0]) if rows else None

    async def recover(self) -> int:
        return await self._db.write(
            "UPDATE daily_deliveries SET state = 'uncertain' WHERE state = 'sending'"
        )


def _conforms(store: SqliteDailyStore) -> DailyStore:
    return store  # mypy checks that the repository satisfies the protocol
