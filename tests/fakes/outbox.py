"""A loopback double of a platform Outbox: records what would have been posted, fails on cue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.delivery import ChatGone, DeliveryFailed, RetryLater
from bot.core.quiz.service import Asked


@dataclass
class Sent:
    chat: ChatRef
    kind: str  # question | post | edit
    reply: Reply
    nonce: str | None
    at: float  # loop time
    asked: Asked | None = None


@dataclass
class FakeOutbox:
    """Implements bot.core.outbox.Outbox. `fail[chat_id]` is a list of exceptions to raise
    (one per call, in order) before posting normally; `gate`, when set, holds every post after
    it was recorded (as a platform that received the request but never answered)."""

    platform: Platform = Platform.TELEGRAM
    sent: list[Sent] = field(default_factory=list)
    fail: dict[str, list[BaseException]] = field(default_factory=dict)
    gate: asyncio.Event | None = None
    calls: list[tuple[str, float]] = field(default_factory=list)
    delay: float = 0.0  # seconds each call takes
    _grew: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        return await self._send(chat, "question", asked.reply, nonce, asked)

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        return await self._send(chat, "post", reply, nonce)

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        await self._send(chat, "edit", reply, message_ref)

    async def _send(
        self, chat: ChatRef, kind: str, reply: Reply, nonce: str | None, asked: Asked | None = None
    ) -> str:
        now = asyncio.get_running_loop().time()
        self.calls.append((chat.chat_id, now))
        if self.delay:
            await asyncio.sleep(self.delay)
        failures = self.fail.get(chat.chat_id)
        if failures:
            raise failures.pop(0)
        self.sent.append(Sent(chat, kind, reply, nonce, now, asked))
        self._grew.set()
        if self.gate is not None:
            await self.gate.wait()
        return f"m{len(self.sent)}"

    async def until(self, count: int) -> None:
        """Wait until at least `count` messages were sent."""
        while len(self.sent) < count:
            self._grew.clear()
            await self._grew.wait()

    def to(self, chat_id: str, kind: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.chat.chat_id == chat_id and kind in {None, s.kind}]

    def questions(self) -> list[Sent]:
        return [s for s in self.sent if s.kind == "question"]


def gone(what: str = "403 Forbidden: bot was kicked") -> ChatGone:
    return ChatGone(what)


def transient(what: str = "502 Bad Gateway") -> DeliveryFailed:
    return DeliveryFailed(what)


def throttled(after: float) -> RetryLater:
    return RetryLater("429 Too Many Requests", after)
