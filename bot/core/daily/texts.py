"""All wording of the daily question, as pure functions returning Reply values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.core.bank.questions import DIFFICULTY_NAMES, Question
from bot.core.common.identity import Platform, shown_name
from bot.core.common.replies import POLL_QUESTION_MAX, Link, Paragraph, QuizPoll, Reply
from bot.core.common.texts import TZ_LIST_URL
from bot.core.daily.model import DailyDefaults, Subscription
from bot.core.quiz import RankedRow, Round, RoundStats, reveal_reply

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
SET_USAGE = "/daily set HH:MM [timezone] [topics] [junior|mid|senior] [window, e.g. 12h]"
NO_QUESTIONS_FOR_FILTERS = "There are no questions for those topics and that difficulty."
WINDOW_RANGE = "The answer window must be between 1 minute and 23 hours."


def not_a_window(text: str) -> str:
    return (
        f"'{text.strip()[:20]}' is not an answer window. Use hours and/or minutes, "
        "e.g. 12h, 90m or 1h30m."
    )


def not_understood(word: str) -> str:
    return (
        f"I don't understand '{word[:20]}'. Use /daily set HH:MM [timezone] "
        "[topics] [junior|mid|senior] [answer window like 12h]."
    )


def neither_topic_nor_timezone(word: str) -> str:
    return (
        f"'{word[:40]}' is neither a topic nor a timezone. Topics: see /topics. "
        "Timezones are IANA names such as Europe/Berlin; find yours in the "
        f"'TZ identifier' column of {TZ_LIST_URL}"
    )


def day_name(day: date) -> str:
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def clock_time(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def duration(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _filters(sub: Subscription) -> str:
    topics = ", ".join(sub.topics) if sub.topics else "all topics"
    level = DIFFICULTY_NAMES.get(sub.difficulty, "any") if sub.difficulty else "any level"
    return f"{topics}; {level}"


# -- the posts -------------------------------------------------------------------------------


def daily_question(reply: Reply, day: date, closes_local: datetime, timezone: str) -> Reply:
    """The question's own reply with a daily header and when it closes."""
    header = Paragraph(f"📅 Daily question · {day_name(day)}", bold=True)
    footer = Paragraph(
        f"Open until {clock_time(closes_local)} ({timezone}). Answer within the first hour "
        "for a speed bonus; answer every day to grow your streak."
    )
    return replace(reply, blocks=(header, *reply.blocks, footer))


def daily_poll(poll: QuizPoll) -> QuizPoll:
    """A native quiz poll shows only its question: say there that it is the daily one."""
    labelled = f"📅 Daily question: {poll.question}"
    return replace(poll, question=labelled) if len(labelled) <= POLL_QUESTION_MAX else poll


def closed_question(reply: Reply, day: date) -> Reply:
    """The posted question, closed: same text, no buttons."""
    header = Paragraph(f"📅 Daily question · {day_name(day)} (closed)", bold=True)
    footer = Paragraph("This question is closed; the answer is in the reveal below.")
    return replace(reply, blocks=(header, *reply.blocks, footer), choices=(), actions=())


def daily_reveal(question: Question, rnd: Round, stats: RoundStats, day: date) -> Reply:
    """The reveal with its "Learn more" link last and its Report button."""
    header = Paragraph(f"📅 The answer to {day_name(day)}'s daily question", bold=True)
    prompt = Paragraph(question.prompt)
    reveal = reveal_reply(question, rnd, stats)
    body = [b for b in reveal.blocks if not isinstance(b, Link)]
    if stats.answered == 0:
        body.append(Paragraph("Nobody answered this one. Tomorrow is a new chance!"))
    links = [b for b in reveal.blocks if isinstance(b, Link)]
    return replace(reveal, blocks=(header, prompt, *body, *links))


def weekly_recap(week: str, rows: Sequence[RankedRow], place: str) -> Reply:
    lines = "\n".join(
        f"{r.rank}. {shown_name(r.row.name)} — {r.row.points} pts "
        f"({r.row.correct}/{r.row.answered} right)"
        for r in rows
    )
    return Reply(
        (
            Paragraph(f"🗓 Weekly recap — {place}, week {week}", bold=True),
            Paragraph(lines),
            Paragraph("A new week starts now. Good luck!"),
        )
    )


# -- commands --------------------------------------------------------------------------------


def _schedule_lines(sub: Subscription, next_local: datetime, next_day: date) -> str:
    return "\n".join(
        (
            f"Every day at {sub.time:%H:%M} ({sub.timezone})",
            f"Questions: {_filters(sub)}",
            f"Answer window: {duration(sub.window)}, then the reveal",
            f"Weekly recap: {'on' if sub.recap else 'off'}",
            f"Next: {day_name(next_day)} at {clock_time(next_local)}",
        )
    )


def subscribed(sub: Subscription, next_local: datetime, next_day: date) -> Reply:
    return Reply(
        (
            Paragraph("✅ Daily question scheduled here", bold=True),
            Paragraph(_schedule_lines(sub, next_local, next_day)),
            Paragraph("Change it with /daily set, stop it with /daily off."),
        )
    )


def status(sub: Subscription, next_local: datetime, next_day: date) -> Reply:
    return Reply(
        (
            Paragraph("📅 Daily question here", bold=True),
            Paragraph(_schedule_lines(sub, next_local, next_day)),
        )
    )


def not_subscribed(defaults: DailyDefaults, reason: str | None = None) -> Reply:
    blocks = [Paragraph("There is no daily question here.", bold=True)]
    if reason:
        blocks.append(Paragraph(f"It was stopped: {reason}."))
    blocks.append(
        Paragraph(
            f"An admin can start one with {SET_USAGE}. Example: /daily set "
            f"{defaults.time:%H:%M} {defaults.timezone}"
        )
    )
    return Reply(tuple(blocks))


def turned_off() -> Reply:
    return Reply((Paragraph("The daily question is off here. /daily set starts it again."),))


def recap_changed(on: bool) -> Reply:
    if on:
        return Reply((Paragraph("The weekly recap (top 5 of the week) is on."),))
    return Reply((Paragraph("The weekly recap is off. /daily recap on brings it back."),))


def not_admin(platform: Platform) -> str:
    if platform is Platform.DISCORD:
        return "Only people with the Manage Server permission can change the daily question."
    if platform is Platform.TELEGRAM:
        return "Only the group's creator and administrators can change the daily question."
    return "Only admins can change the daily question here."


def not_in_dm() -> str:
    return "The daily question is for server channels. Use /daily in a channel of your server."


def recap_usage() -> str:
    return "Use /daily recap on or /daily recap off."


def help_reply() -> Reply:
    lines = "\n".join(
        (
            "/daily status — when this place's daily question comes, and its settings",
            f"{SET_USAGE} — start or change it (admins)",
            "/daily off — stop it (admins)",
            "/daily recap on|off — the weekly top 5 (admins)",
        )
    )
    return Reply(
        (
            Paragraph("The daily question", bold=True),
            Paragraph(lines),
            Paragraph(
                "One question a day at this place's own time; after the answer window a "
                "reveal with the right answer, % right and the fastest solvers."
            ),
        )
    )


def unknown_subcommand(word: str) -> str:
    return f"I don't know '/daily {word[:20]}'. Use /daily status, set, off or recap."


# -- command menus (Telegram's list, Discord's slash-command descriptions) ------------------

COMMAND_DESCRIPTION = "Daily question here (admins): set, off, status, recap"
SUBCOMMAND_DESCRIPTIONS = {
    "set": "Start or change this channel's daily question",
    "off": "Stop this channel's daily question",
    "status": "When the daily question comes here, and its settings",
    "recap": "Turn the weekly top-5 recap on or off",
}
OPTION_DESCRIPTIONS = {
    "time": "Local time HH:MM, 24-hour (default 09:00 or the bot's [daily] time)",
    "timezone": "IANA timezone such as Europe/Berlin or America/New_York",
    "topics": "Topics, separated by spaces or commas (default: all)",
    "difficulty": "junior, mid or senior (default: any)",
    "window": "How long it stays open before the reveal, e.g. 12h or 90m",
    "on": "On or off",
}


def unavailable() -> str:
    return "The daily question is not available in this run of the bot."
