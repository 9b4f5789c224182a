"""The daily question's DailyStore over a Database: subscriptions, claims, deliveries.

The protocol lives in the core (bot/core/daily/ports.py), since the core uses it; one contract
test suite holds this and the in-memory store (bot/storage/memory/daily.py) to the same
behaviour. Exactly once rests on unique keys here: one claim per (subscription, local date),
one delivery per (claim, kind), taken with inserts that do nothing on conflict.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.model import Claim, Delivery, DeliveryKind, DeliveryState, Subscription
from bot.core.daily.ports import DailyStore
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import from_ts, to_ts

__all__ = ["SqliteDailyStore"]

# a claim's reveal is settled once it went out, had nothing to send or cannot be sent
_SETTLED_REVEAL = ("delivered", "skipped", "gone")

_SELECT_SUBS = """
SELECT id, platform, chat_id, community_id, local_time, timezone, topics, difficulty,
    window_seconds, recap, active, disabled_reason, since
FROM daily_subscriptions
"""
_SELECT_CLAIMS = """
SELECT c.id, c.subscription_id, c.local_date, c.question_id, c.fire_at, c.closes_at, c.round_id
FROM daily_claims c
"""
_BEGIN_SQL = """
INSERT INTO daily_deliveries (claim_id, kind, chat_key, state, attempts, updated_at)
VALUES (:claim, :kind, :chat, 'sending', 1, :at)
ON CONFLICT (claim_id, kind) DO UPDATE SET
    state = 'sending', attempts = attempts + 1, error = NULL, updated_at = excluded.updated_at
WHERE state = 'uncertain' OR (state = 'failed' AND attempts < :max)
"""


def _sub(row: Any) -> Subscription:
    (
        sid,
        platform,
        chat_id,
        community,
        at,
        zone,
        topics,
        level,
        window,
        recap,
        active,
        why,
        since,
    ) = row
    return Subscription(
        chat=ChatRef(Platform(platform), chat_id, community),
        time=time.fromisoformat(at),
        timezone=zone,
        since=from_ts(since),
        topics=tuple(t for t in topics.split(",") if t),
        difficulty=level,
        window=timedelta(seconds=window),
        recap=bool(recap),
        active=bool(active),
        disabled_reason=why,
        id=sid,
    )


def _claim(row: Any) -> Claim:
    cid, sid, day, qid, fire_at, closes_at, round_id = row
    return Claim(
        cid, sid, date.fromisoformat(day), qid, from_ts(fire_at), from_ts(closes_at), round_id
    )


class SqliteDailyStore:
    """The daily tables, reached only through the Database's reads, writes and transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteDailyStore({self._db!r})"

    async def save_subscription(self, sub: Subscription) -> Subscription:
        values = {
            "platform": sub.chat.platform.value, "chat": sub.chat.chat_id,
            "community": sub.chat.community_id, "time": f"{sub.time:%H:%M}",
            "zone": sub.timezone, "topics": ",".join(sub.topics), "level": sub.difficulty,
            "window": int(sub.window.total_seconds()), "recap": int(sub.recap),
            "active": int(sub.active), "why": sub.disabled_reason, "since": to_ts(sub.since),
            "at": datetime.now(UTC).timestamp(),
        }  # fmt: skip
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO daily_subscriptions (platform, chat_id, community_id, local_time, "
                "timezone, topics, difficulty, window_seconds, recap, active, disabled_reason, "
                "since, updated_at) VALUES (:platform, :chat, :community, :time, :zone, "
                ":topics, :level, :window, :recap, :active, :why, :since, :at) "
                "ON CONFLICT (platform, chat_id) DO UPDATE SET "
                "community_id = excluded.community_id, local_time = excluded.local_time, "
                "timezone = excluded.timezone, topics = excluded.topics, "
                "difficulty = excluded.difficulty, window_seconds = excluded.window_seconds, "
                "recap = excluded.recap, active = excluded.active, "
                "disabled_reason = excluded.disabled_reason, since = excluded.since, "
                "updated_at = excluded.updated_at",
                values,
            )
            rows = await conn.execute_fetchall(
                "SELECT id FROM daily_subscriptions WHERE platform = ? AND chat_id = ?",
                (values["platform"], values["chat"]),
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
            (to_ts(closes_after), *_SETTLED_REVEAL),
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
            "SELECT chat_key, state, attempts, message_ref, error FROM daily_deliveries "
            "WHERE claim_id = ? AND kind = ?",
            (claim_id, kind.value),
        )
        if not rows:
            return None
        chat_key, state, attempts, ref, error = rows[0]
        return Delivery(claim_id, kind, chat_key, DeliveryState(state), attempts, ref, error)

    async def recover(self) -> int:
        return await self._db.write(
            "UPDATE daily_deliveries SET state = 'uncertain' WHERE state = 'sending'"
        )


def _conforms(store: SqliteDailyStore) -> DailyStore:
    return store  # mypy checks that the repository satisfies the protocol
