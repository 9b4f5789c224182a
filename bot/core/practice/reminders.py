"""Practice reminders: `/remind HH:MM [timezone]` and the reminders due at a given moment.

A reminder is a private message at or after a local time, on days when the learner has cards
due; it is claimed in the store before it is handed out, so at most one goes out per person
and local day. `bot/jobs/practice.py` runs `due()` every minute on the shared scheduler. The
time and timezone are read by the same parser as `/daily set` (bot/core/common/timeparse.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.core.common.clock import Clock
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.common.timeparse import parse_time, parse_timezone
from bot.core.practice import plan_texts
from bot.core.practice import texts as pt
from bot.core.practice.ports import PlanDay, PracticeStore, Reminder
from bot.core.quiz import Players

_OFF = {"off", "stop", "none", "disable"}


class PracticeReminders:
    def __init__(
        self,
        store: PracticeStore,
        *,
        players: Players,
        clock: Clock,
        plan_day: Callable[[int, datetime], Awaitable[PlanDay | None]] | None = None,
    ) -> None:
        """`plan_day`: a learner's interview plan today (bot/core/practice/coach.py), so a
        reminder also goes out, and says so, on days with planned cards left to study."""
        self.store = store
        self.players = players
        self.clock = clock
        self.plan_day = plan_day

    async def command(self, user: UserRef, name: str, chat: ChatRef, args: list[str]) -> Reply:
        """`/remind HH:MM [timezone]`, `/remind off`, or `/remind` for the current setting."""
        if not chat.is_private:
            raise QuizError(pt.REMIND_DM_ONLY)
        player = await self.players.player(user, name)
        if not args:
            current = await self.store.reminder(player)
            return pt.reminder_status_reply(
                current.time if current else None, current.timezone if current else None
            )
        if args[0].casefold() in _OFF:
            return pt.reminder_off_reply(await self.store.delete_reminder(player))
        at = parse_time(args[0])
        hhmm = f"{at:%H:%M}"
        zone = parse_timezone(args[1]) if len(args) > 1 else "UTC"
        local = self.clock.now().astimezone(ZoneInfo(zone))
        # set after today's time: the first reminder comes tomorrow, not right now
        sent = local.date() if local.time() >= at else None
        await self.store.set_reminder(Reminder(player, chat, hhmm, zone, sent))
        return pt.reminder_set_reply(hhmm, zone)

    async def due(
        self, platforms: Collection[Platform] | None = None
    ) -> list[tuple[ChatRef, Reply]]:
        """Reminders (on `platforms`, default all) whose local time has come today and whose
        learner has cards due or, with a plan, planned cards left today, each claimed before
        it is returned."""
        now = self.clock.now()
        out = []
        for reminder in await self.store.reminders():
            if platforms is not None and reminder.chat.platform not in platforms:
                continue
            local = now.astimezone(ZoneInfo(reminder.timezone))
            due_at = time.fromisoformat(reminder.time)
            if local.time() < due_at or reminder.last_sent == local.date():
                continue
            summary = await self.store.due_summary(reminder.player_id, now)
            day = await self.plan_day(reminder.player_id, now) if self.plan_day else None
            if summary.due_now == 0 and (day is None or day.days_left <= 0 or not day.left_today):
                continue  # checked again later today: cards may fall due
            if await self.store.claim_reminder(reminder.player_id, local.date()):
                out.append((reminder.chat, _reminder_reply(summary.due_now, day)))
        return out


def _reminder_reply(due_now: int, day: PlanDay | None) -> Reply:
    if day is None:
        return pt.reminder_reply(due_now)
    text = plan_texts.reminder_text(due_now, day)
    return Reply((Paragraph(text),), private=True, summary=text[:200])
