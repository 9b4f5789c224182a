"""The daily question's DailyStore in memory (tests, dry runs, `discord sync`).

Held to the same contract tests as the SQLite store (bot/storage/sqlite/daily.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from bot.core.common.identity import ChatRef
from bot.core.daily.model import Claim, Delivery, DeliveryKind, DeliveryState, Subscription
from bot.core.daily.ports import DailyStore

__all__ = ["MemoryDailyStore"]

# a claim's reveal is settled once it went out, had nothing to send or cannot be sent
_SETTLED_REVEAL = {DeliveryState.DELIVERED, DeliveryState.SKIPPED, DeliveryState.GONE}


class MemoryDailyStore:
    """The same contract in memory (tests, dry runs)."""

    def __init__(self) -> None:
        self._subs: dict[int, Subscription] = {}
        self._claims: dict[int, Claim] = {}
        self._claim_keys: dict[tuple[int, date], int] = {}
        self._deliveries: dict[tuple[int, DeliveryKind], Delivery] = {}

    async def save_subscription(self, sub: Subscription) -> Subscription:
        existing = await self.subscription_for(sub.chat)
        sub_id = existing.id if existing else len(self._subs) + 1
        saved = replace(sub, id=sub_id)
        self._subs[sub_id] = saved
        return saved

    async def subscription(self, sub_id: int) -> Subscription | None:
        return self._subs.get(sub_id)

    async def subscription_for(self, chat: ChatRef) -> Subscription | None:
        return next(
            (
                s
                for s in self._subs.values()
                if (s.chat.platform, s.chat.chat_id) == (chat.platform, chat.chat_id)
            ),
            None,
        )

    async def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        return [s for _, s in sorted(self._subs.items()) if s.active or not active_only]

    async def claim(
        self, sub_id: int, day: date, question_id: str, fire_at: datetime, closes_at: datetime
    ) -> tuple[Claim, bool]:
        if sub_id not in self._subs:
            raise KeyError(f"no subscription {sub_id}")
        existing = self._claim_keys.get((sub_id, day))
        if existing is not None:
            return self._claims[existing], False
        claim = Claim(len(self._claims) + 1, sub_id, day, question_id, fire_at, closes_at)
        self._claims[claim.id] = claim
        self._claim_keys[(sub_id, day)] = claim.id
        return claim, True

    async def get_claim(self, claim_id: int) -> Claim | None:
        return self._claims.get(claim_id)

    async def set_claim_round(self, claim_id: int, round_id: str) -> bool:
        claim = self._claims[claim_id]
        if claim.round_id is not None:
            return False
        self._claims[claim_id] = replace(claim, round_id=round_id)
        return True

    async def open_claims(self, closes_after: datetime) -> list[Claim]:
        out = []
        for claim in self._claims.values():
            reveal = self._deliveries.get((claim.id, DeliveryKind.REVEAL))
            if claim.closes_at > closes_after and (
                reveal is None or reveal.state not in _SETTLED_REVEAL
            ):
                out.append(claim)
        return sorted(out, key=lambda c: (c.closes_at, c.id))

    async def begin_delivery(
        self, claim_id: int, kind: DeliveryKind, chat_key: str, max_attempts: int, at: datetime
    ) -> int | None:
        key = (claim_id, kind)
        current = self._deliveries.get(key)
        if current is None:
            self._deliveries[key] = Delivery(claim_id, kind, chat_key, DeliveryState.SENDING, 1)
            return 1
        if current.state is DeliveryState.UNCERTAIN or (
            current.state is DeliveryState.FAILED and current.attempts < max_attempts
        ):
            attempts = current.attempts + 1
            self._deliveries[key] = replace(
                current, state=DeliveryState.SENDING, attempts=attempts, error=None
            )
            return attempts
        return None

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
        current = self._deliveries.get((claim_id, kind))
        if current is None:
            return
        self._deliveries[(claim_id, kind)] = replace(
            current, state=state, message_ref=message_ref or current.message_ref, error=error
        )

    async def delivery(self, claim_id: int, kind: DeliveryKind) -> Delivery | None:
        return self._deliveries.get((claim_id, kind))

    async def recover(self) -> int:
        cut = [k for k, d in self._deliveries.items() if d.state is DeliveryState.SENDING]
        for key in cut:
            self._deliveries[key] = replace(self._deliveries[key], state=DeliveryState.UNCERTAIN)
        return len(cut)


def _conforms(store: MemoryDailyStore) -> DailyStore:
    return store  # mypy checks that the store satisfies the protocol
