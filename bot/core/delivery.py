"""Outbox: how the scheduler (daily posts, reveals, recaps, reminders) reaches a platform;
UpdateInbox: where an adapter keeps what a platform delivered until it is processed.

Each platform adapter provides one Outbox. Failures are typed so the scheduler can react:
ChatGone disables a subscription (bot removed, chat deleted, no access), RetryLater carries the
platform's retry_after, anything else is a transient DeliveryFailed.

An Outbox that queues what it sends to keep a platform's budgets (the scheduler's paced ones)
may also be `Prioritizing`: its `urgent` side sends ahead of everything else queued, its `soon`
side ahead of its ordinary queue. Whatever is due at a moment people are watching (a game
question's close and reveal, its hint) goes through `urgent_lane(outbox)`; what a channel is
waiting for (a game's next question, its final standings) through `soon_lane(outbox)`. Each is
the outbox itself where there is no such side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.common.untrusted import storable_json
from bot.core.quiz import Asked


class DeliveryFailed(Exception):
    """Posting failed; `reason` is safe to log and store (never contains a token)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ChatGone(DeliveryFailed):
    """Forbidden or not found: the bot cannot post there any more."""


class RetryLater(DeliveryFailed):
    """Rate limited; try again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Outbox(Protocol):
    platform: Platform

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        """Post a question with answer buttons (or as a native quiz poll where that fits and
        the platform has one). Returns a message reference for later edits. `nonce` is stable
        per delivery so a retried post is never duplicated where the platform supports it."""
        ...

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        """Post a plain Reply (a reveal, a recap, a reminder); returns a message reference."""
        ...

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        """Replace a posted message (e.g. close a daily question: remove its buttons)."""
        ...


@runtime_checkable
class Prioritizing(Protocol):
    """An Outbox that queues its sends (to keep a platform's budgets) with two more ways in:
    `urgent` is the same Outbox, its sends put ahead of every other one still queued; `soon`
    puts them behind the urgent ones but ahead of the ordinary ones (which keep their order,
    and a share of the budget however many of the others come)."""

    @property
    def urgent(self) -> Outbox: ...

    @property
    def soon(self) -> Outbox: ...


def urgent_lane(outbox: Outbox) -> Outbox:
    """Where to send what is due at a moment people are watching (a game question's close and
    reveal, its hint): `outbox`'s urgent side if it has one, else `outbox` itself."""
    return outbox.urgent if isinstance(outbox, Prioritizing) else outbox


def soon_lane(outbox: Outbox) -> Outbox:
    """Where to send what a channel is waiting for, though no deadline runs yet (a game's next
    question, whose time starts when it is out; its final standings): `outbox`'s soon side if
    it has one, else `outbox` itself."""
    return outbox.soon if isinstance(outbox, Prioritizing) else outbox


@dataclass(frozen=True, slots=True)
class Inbound:
    """One update as a platform delivered it: its id (the platform's order) and its payload
    (JSON text as an encoder writes it, control characters escaped; stored as given, but for
    a lone surrogate written as is, which becomes its escape: the same JSON, and storable)."""

    update_id: int
    payload: str

    def __post_init__(self) -> None:
        if not self.payload.isascii():  # PTB's and our webhook's JSON always are
            object.__setattr__(self, "payload", storable_json(self.payload))


class UpdateInbox(Protocol):
    """A durable inbox of a platform's fetched updates (Telegram's getUpdates), so that an
    update confirmed to the platform is never lost: it is stored before it is confirmed,
    processed from here and then marked done. Keyed by update id: storing one twice is a
    no-op, and a done one is not handed out again.

    Shared by several workers (webhooks behind a load balancer, on PostgreSQL), an update is
    processed by one worker at a time: what `add` and `pending` return is claimed for this
    inbox's worker for a lease, and an update another live worker claimed is left out; one
    whose claim ran out (its worker died) is handed out again. A worker's own claims are
    handed back to it (it skips what it holds) and renewed while it keeps using the inbox."""

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        """Store the updates not stored yet; stored for good once this returns. Returns those
        of `updates` that are not done yet, in id order."""
        ...

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        """Updates not done yet with ids above `after`, in id order, at most `limit`."""
        ...

    async def done(self, update_ids: Sequence[int]) -> None:
        """Mark these updates processed (unknown ids are ignored)."""
        ...

    async def prune(self, below: int) -> int:
        """Forget the done updates with ids below `below` (the platform will not deliver
        them again); return how many were forgotten."""
        ...
