"""The daily question's rows <-> values, for both SQL engines: subscriptions, claims and
deliveries. A row is anything that unpacks to its columns in the order of the column list
named beside its reader (a sqlite3 tuple or an asyncpg Record)."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.model import Claim, Delivery, DeliveryKind, DeliveryState, Subscription
from bot.storage.rows.values import from_ts, to_ts

SUBSCRIPTION_COLUMNS = (
    "id, platform, chat_id, community_id, local_time, timezone, topics, difficulty, "
    "window_seconds, recap, active, disabled_reason, since"
)
SAVED_COLUMNS = (
    "platform, chat_id, community_id, local_time, timezone, topics, difficulty, "
    "window_seconds, recap, active, disabled_reason, since, updated_at"
)
"""What save_subscription writes, in subscription_values' order."""
SAVED_UPDATE = ", ".join(
    f"{name} = excluded.{name}" for name in SAVED_COLUMNS.split(", ")[2:]
)  # the upsert's SET list: everything but the place, which is the key
CLAIM_COLUMNS = (
    "c.id, c.subscription_id, c.local_date, c.question_id, c.fire_at, c.closes_at, c.round_id"
)
DELIVERY_COLUMNS = "chat_key, state, attempts, message_ref, error"

SETTLED_REVEAL = ("delivered", "skipped", "gone")
"""A claim's reveal is settled once it went out, had nothing to send or cannot be sent."""


def subscription(row: Any) -> Subscription:
    """A subscription from a row in SUBSCRIPTION_COLUMNS order."""
    (sid, platform, chat_id, community, at, zone, topics, level, window, recap, active, why,
     since) = row  # fmt: skip
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


def subscription_values(sub: Subscription, at: float) -> tuple[Any, ...]:
    """A subscription's values in SAVED_COLUMNS order, `at` its updated_at."""
    return (
        sub.chat.platform.value, sub.chat.chat_id, sub.chat.community_id, f"{sub.time:%H:%M}",
        sub.timezone, ",".join(sub.topics), sub.difficulty, int(sub.window.total_seconds()),
        int(sub.recap), int(sub.active), sub.disabled_reason, to_ts(sub.since), at,
    )  # fmt: skip


def claim(row: Any) -> Claim:
    """A claim from a row in CLAIM_COLUMNS order."""
    cid, sid, day, qid, fire_at, closes_at, round_id = row
    return Claim(
        cid, sid, date.fromisoformat(day), qid, from_ts(fire_at), from_ts(closes_at), round_id
    )


def delivery(claim_id: int, kind: DeliveryKind, row: Any) -> Delivery:
    """A delivery from a row in DELIVERY_COLUMNS order."""
    chat_key, state, attempts, ref, error = row
    return Delivery(claim_id, kind, chat_key, DeliveryState(state), attempts, ref, error)
