"""Practice reminders: `/remind HH:MM [timezone]` and the reminders due at a given moment.

A reminder is a private message at or after a local time, on days when the learner has cards
due; it is claimed in the store before it is handed out, so at most one goes out per person
and local day. `bot/practice_jobs.py` runs `due()` every minute on the shared scheduler.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.practice import texts as pt
from bot.core.practice.ports import PracticeStore, Reminder
from bot.core.quiz.service import QuizService

_HHMM_RE = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_OFF = {"off", "stop", "none", "disable"}


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class PracticeReminders:
    def __init__(self, quiz: QuizService, store: PracticeStore) -> None:
        self.quiz = quiz
        self.store = store

    async def command(self, user: UserRef, name: str, chat: ChatRef, args: list[str]) -> Reply:
        """`/remind HH:MM [timezone]`, `/remind off`, or `/remind` for the current setting."""
        if not chat.is_private:
            raise QuizError(pt.REMIND_DM_ONLY)
        player = await self.quiz.store.player(user, name)
        if not args:
            current = await self.store.reminder(player)
            return pt.reminder_status_reply(
                current.time if current else None, current.timezone if current else None
            )
        if args[0].casefold() in _OFF:
            return pt.reminder_off_reply(await self.store.delete_reminder(player))
        match = _HHMM_RE.match(args[0].strip())
        if match is None:
            raise QuizError(pt.bad_time(args[0]))
        hhmm = f"{int(match.group(1)):02d}:{match.group(2)}"
        zone = args[1].strip() if len(args) > 1 else "UTC"
        try:
            local = self.quiz.clock.now().astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
            raise QuizError(pt.bad_timezone(zone)) from None
        # set after today's time: the first reminder comes tomorrow, not right now
        sent = local.date() if local.time() >= parse_hhmm(hhmm) else None
        await self.store.set_reminder(Reminder(player, chat, hhmm, zone, sent))
        return pt.reminder_set_reply(hhmm, zone)

    async def due(
        self, platforms: Collection[Platform] | None = None
    ) -> list[tuple[ChatRef, Reply]]:
        """Reminders (on `platforms`, default all) whose local time has come today and whose
        learner has cards due, each claimed before it is returned."""
        now = self.quiz.clock.now()
        out = []
        for reminder in await self.store.reminders():
            if platforms is not None and reminder.chat.platform not in platforms:
                continue
            local = now.astimezone(ZoneInfo(reminder.timezone))
            if local.time() < parse_hhmm(reminder.time) or reminder.last_sent == local.date():
                continue
            summary = await self.store.due_summary(reminder.player_id, now)
            if summary.due_now == 0:
                continue  # checked again later today: cards may fall due
            if await self.store.claim_reminder(reminder.player_id, local.date()):
                out.append((reminder.chat, pt.reminder_reply(summary.due_now)))
        return out
