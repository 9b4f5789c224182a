"""DailyService: the daily question's use cases (commands) and its exactly-once runs.

A run of a subscription's post for a local date is made exactly once by two records: the claim
(unique per subscription and date; it fixes the question and, once opened, the round) and one
delivery per kind (question, reveal, recap) that a sender must take over atomically before it
posts. A crash while posting leaves the delivery SENDING; at the next start it becomes
UNCERTAIN and is sent again with the same nonce (Discord drops the repeat; Telegram has no
idempotency key, so only a post whose reply was lost in the crash can show twice).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.errors import NotAllowed, QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.common.texts import community_word
from bot.core.common.untrusted import storable_words
from bot.core.daily import texts as daily_texts
from bot.core.daily.args import parse_set_args
from bot.core.daily.model import (
    Claim,
    DailyDefaults,
    DeliveryKind,
    DeliveryState,
    Subscription,
    fire_instant,
    next_fire,
)
from bot.core.daily.pick import daily_pick, daily_pool
from bot.core.daily.ports import DailyStore
from bot.core.delivery import ChatGone, DeliveryFailed, Outbox
from bot.core.quiz import (
    Asked,
    QuizService,
    Results,
    Round,
    RoundKind,
    iso_week,
    question_reply,
    quiz_poll,
    rank_rows,
)

log = logging.getLogger(__name__)

Listener = Callable[[Subscription], None]
HeldQuestions = Callable[[], Awaitable[frozenset[str]]]  # ReportService.held_questions
RECAP_SIZE = 5


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DONE = "done"  # already delivered (or settled) earlier: nothing sent now
    BUSY = "busy"  # someone else is sending it right now
    GONE = "gone"  # the place is gone; the subscription was disabled
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to send: inactive, window closed, empty recap


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: Outcome
    claim: Claim | None = None
    retry: bool = False  # a later attempt may succeed (transient failure with attempts left)
    error: str | None = None


_SETTLED = {
    DeliveryState.DELIVERED: Outcome.DONE,
    DeliveryState.SKIPPED: Outcome.DONE,
    DeliveryState.SENDING: Outcome.BUSY,
    DeliveryState.GONE: Outcome.GONE,
    DeliveryState.FAILED: Outcome.FAILED,
    DeliveryState.UNCERTAIN: Outcome.FAILED,
}


class DailyService:
    def __init__(
        self,
        quiz: QuizService,
        store: DailyStore,
        *,
        bank: QuestionBank,
        results: Results,
        clock: Clock | None = None,
        defaults: DailyDefaults | None = None,
        max_attempts: int = 4,
        held: HeldQuestions | None = None,
    ) -> None:
        """`quiz` opens and finds the daily rounds; `results` (the quiz's store) gives a
        round's stats and a week's top players for reveals and recaps; `held`: the question
        ids that picks leave out (reported ones awaiting an operator)."""
        self.quiz = quiz
        self.store = store
        self.bank = bank
        self.results = results
        self.defaults = defaults or DailyDefaults()
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self._held = held
        self._listeners: list[Listener] = []

    def on_change(self, listener: Listener) -> None:
        """Call `listener(subscription)` after every change (set, off, recap, disabled)."""
        self._listeners.append(listener)

    def off_change(self, listener: Listener) -> None:
        """Stop calling `listener` (one added by on_change; else nothing happens)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, sub: Subscription) -> None:
        for listener in self._listeners:
            try:
                listener(sub)
            except Exception:
                log.exception("daily: a change listener failed for %s", sub.chat.key)

    # -- commands -----------------------------------------------------------------------------

    async def command(self, chat: ChatRef, words: Sequence[str], *, is_admin: bool) -> Reply:
        """`/daily [status|set ...|off|recap on|off|help]` as words after the command."""
        words = storable_words(words)
        action = words[0].casefold() if words else "status"
        rest = words[1:]
        if action == "set":
            return await self.subscribe(chat, rest, is_admin=is_admin)
        if action in {"off", "stop", "unset"}:
            return await self.unsubscribe(chat, is_admin=is_admin)
        if action == "status":
            return await self.status(chat)
        if action == "recap":
            choice = rest[0].casefold() if rest else ""
            if choice not in {"on", "off"}:
                raise QuizError(daily_texts.recap_usage())
            return await self.set_recap(chat, choice == "on", is_admin=is_admin)
        if action == "help":
            return daily_texts.help_reply()
        raise QuizError(daily_texts.unknown_subcommand(action))

    def _require_admin(self, chat: ChatRef, is_admin: bool) -> None:
        if chat.platform is Platform.DISCORD and chat.is_private:
            raise NotAllowed(daily_texts.not_in_dm())
        if not is_admin:
            raise NotAllowed(daily_texts.not_admin(chat.platform))

    async def subscribe(self, chat: ChatRef, words: Sequence[str], *, is_admin: bool) -> Reply:
        """`/daily set [HH:MM] [timezone] [topics] [difficulty] [window]`: the full schedule;
        what is left out comes from the defaults (the weekly recap setting is kept)."""
        self._require_admin(chat, is_admin)
        bank = self.quiz.library.for_scope(chat.scope)  # this community's own topics too
        args = parse_set_args(storable_words(words), bank)
        daily_pool(bank, args.topics, args.difficulty)  # EmptyBank if nothing fits
        existing = await self.store.subscription_for(chat)
        now = self.clock.now()
        sub = Subscription(
            chat=chat,
            time=args.time or self.defaults.time,
            timezone=args.timezone or self.defaults.timezone,
            since=now,
            topics=args.topics,
            difficulty=args.difficulty,
            window=args.window or self.defaults.window,
            recap=existing.recap if existing else True,
            id=existing.id if existing else 0,
        )
        saved = await self.store.save_subscription(sub)
        log.info("daily: %s scheduled at %s %s", chat.key, f"{saved.time:%H:%M}", saved.timezone)
        self._notify(saved)
        day, at = next_fire(saved, now)
        return daily_texts.subscribed(saved, at.astimezone(saved.zone), day)

    async def unsubscribe(self, chat: ChatRef, *, is_admin: bool) -> Reply:
        self._require_admin(chat, is_admin)
        existing = await self.store.subscription_for(chat)
        if existing is None or not existing.active:
            return daily_texts.not_subscribed(self.defaults)
        await self._deactivate(existing, "turned off with /daily off")
        return daily_texts.turned_off()

    async def status(self, chat: ChatRef) -> Reply:
        sub = await self.store.subscription_for(chat)
        if sub is None or not sub.active:
            return daily_texts.not_subscribed(self.defaults, sub.disabled_reason if sub else None)
        day, at = next_fire(sub, self.clock.now())
        return daily_texts.status(sub, at.astimezone(sub.zone), day)

    async def set_recap(self, chat: ChatRef, on: bool, *, is_admin: bool) -> Reply:
        self._require_admin(chat, is_admin)
        sub = await self.store.subscription_for(chat)
        if sub is None or not sub.active:
            return daily_texts.not_subscribed(self.defaults)
        saved = await self.store.save_subscription(replace(sub, recap=on))
        self._notify(saved)
        return daily_texts.recap_changed(on)

    async def _deactivate(self, sub: Subscription, reason: str) -> None:
        saved = await self.store.save_subscription(
            replace(sub, active=False, disabled_reason=reason[:300])
        )
        self._notify(saved)

    # -- runs (called by the scheduler) -----------------------------------------------------

    def question_for(
        self, sub: Subscription, day: date, held: frozenset[str] = frozenset()
    ) -> Question:
        bank = self.quiz.library.for_scope(sub.chat.scope)  # its community's own questions too
        return daily_pick(daily_pool(bank, sub.topics, sub.difficulty, held), day)

    async def run_post(self, sub: Subscription, day: date, outbox: Outbox) -> RunResult:
        """Post `sub`'s question of local `day` (on Mondays after the weekly recap), once."""
        now = self.clock.now()
        fire_at = fire_instant(day, sub.time, sub.zone)
        closes = fire_at + sub.window
        if not sub.active or now >= closes:
            return RunResult(Outcome.SKIPPED)
        held = await self._held() if self._held is not None else frozenset()
        try:
            pick = self.question_for(sub, day, held)
        except QuizError as exc:  # its topics or level left the bank (EmptyBank, UnknownTopic)
            reason = f"no questions match its topics and level any more ({exc.message})"
            log.warning("daily: %s disabled: %s", sub.chat.key, reason)
            await self._deactivate(sub, reason)
            return RunResult(Outcome.FAILED, error=reason)
        claim, _ = await self.store.claim(sub.id, day, pick.id, fire_at, closes)
        question = self.quiz.library.get(claim.question_id)
        if question is None:
            log.error("daily: question %s of claim %d left the bank", claim.question_id, claim.id)
            return RunResult(Outcome.FAILED, claim, error="the question is no longer in the bank")
        if sub.recap and day.weekday() == 0 and sub.chat.scope is not None:
            recap = await self._deliver(
                sub, claim, DeliveryKind.RECAP, lambda: self._send_recap(sub, claim, outbox)
            )
            if recap.outcome is Outcome.GONE:
                return recap

        async def send() -> str | None:
            rnd = await self._round_for(sub, claim, question)
            reply = question_reply(question, rnd, self.quiz.library.title(question))
            reply = daily_texts.daily_question(
                reply, day, claim.closes_at.astimezone(sub.zone), sub.timezone
            )
            poll = quiz_poll(question, rnd)
            asked = Asked(reply, rnd, question, daily_texts.daily_poll(poll) if poll else None)
            return await outbox.post_question(sub.chat, asked, nonce=f"sp-{claim.id}-q")

        return await self._deliver(sub, claim, DeliveryKind.QUESTION, send)

    async def run_reveal(self, claim: Claim, outbox: Outbox) -> RunResult:
        """Close the claim's question (best effort) and post the reveal with the round's stats."""
        claim = await self.store.get_claim(claim.id) or claim
        sub = await self.store.subscription(claim.subscription_id)
        posted = await self.store.delivery(claim.id, DeliveryKind.QUESTION)
        rnd = await self.quiz.get_round(claim.round_id) if claim.round_id else None
        question = self.quiz.library.get(claim.question_id)
        if (
            sub is None
            or rnd is None
            or question is None
            or posted is None
            or posted.state is not DeliveryState.DELIVERED
        ):
            # the question never went out (or is gone): there is nothing to reveal
            if sub is not None:
                await self._deliver(sub, claim, DeliveryKind.REVEAL, _nothing)
            return RunResult(Outcome.SKIPPED, claim)
        message_ref = posted.message_ref

        async def send() -> str | None:
            stats = await self.results.round_stats(rnd.id)
            if message_ref:
                closed = daily_texts.closed_question(
                    question_reply(question, rnd, self.quiz.library.title(question)), claim.day
                )
                try:
                    await outbox.edit(sub.chat, message_ref, closed)
                except ChatGone:
                    raise
                except DeliveryFailed as exc:
                    log.info("daily: could not close the post in %s: %s", sub.chat.key, exc)
            reveal = daily_texts.daily_reveal(question, rnd, stats, claim.day)
            return await outbox.post(sub.chat, reveal, nonce=f"sp-{claim.id}-r")

        return await self._deliver(sub, claim, DeliveryKind.REVEAL, send)

    async def _send_recap(self, sub: Subscription, claim: Claim, outbox: Outbox) -> str | None:
        scope = sub.chat.scope
        if scope is None:
            return None
        period = iso_week(claim.day - timedelta(days=1))  # the week that just ended
        rows = rank_rows(await self.results.top(scope, period, RECAP_SIZE))
        if not rows:
            return None
        reply = daily_texts.weekly_recap(period, rows, community_word(sub.chat.platform))
        return await outbox.post(sub.chat, reply, nonce=f"sp-{claim.id}-w")

    async def _deliver(
        self,
        sub: Subscription,
        claim: Claim,
        kind: DeliveryKind,
        send: Callable[[], Awaitable[str | None]],
    ) -> RunResult:
        now = self.clock.now()
        attempt = await self.store.begin_delivery(
            claim.id, kind, sub.chat.key, self.max_attempts, now
        )
        if attempt is None:
            current = await self.store.delivery(claim.id, kind)
            outcome = _SETTLED[current.state] if current else Outcome.FAILED
            return RunResult(outcome, claim, error=current.error if current else None)
        try:
            message_ref = await send()
        except ChatGone as exc:
            await self.store.finish_delivery(
                claim.id, kind, DeliveryState.GONE, self.clock.now(), error=exc.reason[:300]
            )
            log.warning("daily: %s is gone, subscription disabled: %s", sub.chat.key, exc.reason)
            await self._deactivate(sub, f"the bot cannot post there any more ({exc.reason})")
            return RunResult(Outcome.GONE, claim, error=exc.reason)
        except Exception as exc:
            reason = exc.reason if isinstance(exc, DeliveryFailed) else type(exc).__name__
            if not isinstance(exc, DeliveryFailed):
                log.exception("daily: %s of %s failed", kind.value, sub.chat.key)
            await self.store.finish_delivery(
                claim.id, kind, DeliveryState.FAILED, self.clock.now(), error=reason[:300]
            )
            return RunResult(Outcome.FAILED, claim, attempt < self.max_attempts, reason)
        if message_ref is None:
            await self.store.finish_delivery(claim.id, kind, DeliveryState.SKIPPED, now)
            return RunResult(Outcome.SKIPPED, claim)
        await self.store.finish_delivery(
            claim.id, kind, DeliveryState.DELIVERED, self.clock.now(), message_ref=message_ref
        )
        return RunResult(Outcome.DELIVERED, claim)

    async def _round_for(self, sub: Subscription, claim: Claim, question: Question) -> Round:
        if claim.round_id is not None:
            rnd = await self.quiz.get_round(claim.round_id)
            if rnd is not None:
                return rnd
        asked = await self.quiz.open_round(
            question, sub.chat, RoundKind.DAILY, self.clock.now(), claim.closes_at, day=claim.day
        )
        if not await self.store.set_claim_round(claim.id, asked.round.id):
            fresh = await self.store.get_claim(claim.id)
            if fresh is not None and fresh.round_id is not None:
                rnd = await self.quiz.get_round(fresh.round_id)
                if rnd is not None:
                    return rnd
        return asked.round


async def _nothing() -> str | None:
    return None
