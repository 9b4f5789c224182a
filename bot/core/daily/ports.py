"""What the daily question needs from storage: subscriptions, claims and deliveries.

Implemented over SQLite (bot/storage/sqlite/daily.py), PostgreSQL (bot/storage/postgres/
daily.py) and in memory (bot/storage/memory/daily.py); one contract test suite holds all three
to the same behaviour.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from bot.core.common.identity import ChatRef
from bot.core.daily.model import Claim, Delivery, DeliveryKind, DeliveryState, Subscription


class DailyStore(Protocol):
    """Subscriptions, claims and deliveries. Implemented over SQLite, PostgreSQL and in
    memory."""

    async def save_subscription(self, sub: Subscription) -> Subscription:
        """Insert or replace the subscription of `sub.chat` (one per place); returns it with id."""
        ...

    async def subscription(self, sub_id: int) -> Subscription | None: ...

    async def subscription_for(self, chat: ChatRef) -> Subscription | None: ...

    async def subscriptions(self, *, active_only: bool = True) -> list[Subscription]: ...

    async def claim(
        self, sub_id: int, day: date, question_id: str, fire_at: datetime, closes_at: datetime
    ) -> tuple[Claim, bool]:
        """The claim of (subscription, day), inserted if new; True if this call inserted it."""
        ...

    async def get_claim(self, claim_id: int) -> Claim | None: ...

    async def set_claim_round(self, claim_id: int, round_id: str) -> bool:
        """Record the round of a claim once; False if it already had one."""
        ...

    async def open_claims(self, closes_after: datetime) -> list[Claim]:
        """Claims closing after `closes_after` whose reveal is not settled (delivered,
        skipped or gone), oldest first."""
        ...

    async def begin_delivery(
        self, claim_id: int, kind: DeliveryKind, chat_key: str, max_attempts: int, at: datetime
    ) -> int | None:
        """Take the right to send: creates the delivery as SENDING, or moves a FAILED or
        UNCERTAIN one with attempts left back to SENDING. Returns the attempt number, or None
        if it is delivered, being sent, gone, skipped or out of attempts. Atomic."""
        ...

    async def finish_delivery(
        self,
        claim_id: int,
        kind: DeliveryKind,
        state: DeliveryState,
        at: datetime,
        *,
        message_ref: str | None = None,
        error: str | None = None,
    ) -> None: ...

    async def delivery(self, claim_id: int, kind: DeliveryKind) -> Delivery | None: ...

    async def recover(self) -> int:
        """At start: every SENDING delivery was cut off by a crash -> UNCERTAIN. Returns count.

        Where several processes share the database (PostgreSQL), only the one that posts
        calls it: the scheduler leader, as it starts leading, once the previous leader has
        stopped (bot/jobs/leader.py). A follower process starting never calls it, so it never
        touches the leader's posts in flight."""
        ...
