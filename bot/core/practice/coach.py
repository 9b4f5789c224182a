"""The coach: weak-topic drills (`/practice weak`) and the interview-date plan (`/plan`).

It reads the practice store and hands PracticeService what a session needs (the questions of
a weak drill and its intro, the plan's topics for new cards) and the countdown line for /due,
/progress and the reminders. The arithmetic and the argument parser are pure, in
bot/core/practice/plans.py; the wording is in bot/core/practice/plan_texts.py.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.clock import Clock
from bot.core.common.errors import EmptyBank, QuizError
from bot.core.common.identity import ChatRef, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.practice import plan_texts as tx
from bot.core.practice.plans import (
    MIN_RECENT_REVIEWS,
    RECENT,
    PlanAction,
    interleave,
    local_today,
    parse_plan_args,
    pick_weak,
    plan_day,
    weak_order,
)
from bot.core.practice.ports import PlanDay, PracticeStore, StudyPlan
from bot.core.quiz import Players


class Coach:
    def __init__(
        self,
        store: PracticeStore,
        *,
        bank: QuestionBank,
        players: Players,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.store = store
        self.bank = bank
        self.players = players
        self.clock = clock
        self._rng = rng

    # -- weak topics ------------------------------------------------------------------------

    async def weak_drill(
        self, player: int, now: datetime, size: int
    ) -> tuple[tuple[str, ...], Paragraph]:
        """A weak drill's questions (the weakest topics in turn) and the intro saying which
        topics and why; a QuizError when there is too little history or nothing is weak."""
        titles = self.bank.titles
        stats = [s for s in await self.store.topic_stats(player, now - RECENT) if s.topic in titles]
        chosen = pick_weak(stats)
        if not chosen:
            if any(s.reviews >= MIN_RECENT_REVIEWS for s in stats):
                raise QuizError(tx.NOTHING_WEAK)
            raise QuizError(tx.too_little_history(stats, MIN_RECENT_REVIEWS, titles))
        cards = [c for c in await self.store.player_cards(player) if c.question_id in self.bank]
        carded = {c.question_id for c in cards}
        lists = []
        for s in chosen:
            unseen = [q.id for q in self.bank.candidates(s.topic, None) if q.id not in carded]
            self._rng.shuffle(unseen)
            mine = [c for c in cards if c.topic == s.topic]
            lists.append(weak_order(mine, unseen, now, size))
        plan = interleave(lists, size)
        if not plan:
            raise EmptyBank()
        return tuple(plan), tx.weak_intro(chosen, titles, len(plan))

    # -- the plan ---------------------------------------------------------------------------

    async def command(self, user: UserRef, name: str, chat: ChatRef, args: list[str]) -> Reply:
        """`/plan YYYY-MM-DD [topics]`, `/plan off`, or `/plan` for the current plan."""
        if not chat.is_private:
            raise QuizError(tx.PLAN_DM_ONLY)
        player = await self.players.player(user, name)
        now = self.clock.now()
        current = await self.store.plan(player)
        reminder = await self.store.reminder(player)
        zone = reminder.timezone if reminder else current.timezone if current else "UTC"
        request = parse_plan_args(args, local_today(now, zone), self.bank.resolve_topic)
        if request.action is PlanAction.OFF:
            return tx.plan_off_reply(await self.store.delete_plan(player))
        if request.action is PlanAction.SHOW:
            if current is None:
                return tx.no_plan_reply()
            return tx.plan_status_reply(current, await self.day(current, now), self.bank.titles)
        assert request.target is not None
        plan = StudyPlan(player, chat, request.target, zone, request.topics, now)
        await self.store.set_plan(plan)
        day = await self.day(plan, now)
        when = f"{reminder.time} ({reminder.timezone})" if reminder else None
        return tx.plan_set_reply(plan, day, self.bank.titles, when)

    def questions(self, plan: StudyPlan) -> list[str]:
        """The bank's questions of the plan's topics (every topic when it names none)."""
        topics = [t for t in plan.topics if t in self.bank.titles] if plan.topics else [None]
        found: list[str] = []
        for topic in topics:
            try:
                found.extend(q.id for q in self.bank.candidates(topic, None))
            except EmptyBank:
                continue
        return found

    async def day(self, plan: StudyPlan, now: datetime) -> PlanDay:
        """Where the plan stands today, in its timezone."""
        today = local_today(now, plan.timezone)
        midnight = datetime.combine(today, time(0), tzinfo=ZoneInfo(plan.timezone))
        cards = await self.store.player_cards(plan.player_id)
        reviewed = await self.store.reviewed_since(plan.player_id, midnight)
        return plan_day(plan.target, today, self.questions(plan), cards, reviewed)

    async def today(self, player: int, now: datetime) -> PlanDay | None:
        """Today's plan of this player, if they have one."""
        plan = await self.store.plan(player)
        return None if plan is None else await self.day(plan, now)

    async def with_countdown(self, reply: Reply, player: int, now: datetime) -> Reply:
        """`reply` (/due, /progress) with the plan's countdown under it, if there is a plan."""
        day = await self.today(player, now)
        if day is None:
            return reply
        return replace(reply, blocks=(*reply.blocks, Paragraph(tx.countdown(day))))

    async def plan_topics(self, player: int) -> set[str] | None:
        """The topics a plan takes new cards from (None without a plan or for every topic)."""
        plan = await self.store.plan(player)
        return set(plan.topics) if plan is not None and plan.topics else None
