"""The wording of weak-topic drills and interview-date plans (`/practice weak`, `/plan`), as
plain strings and Reply values, like bot/core/practice/texts.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from bot.core.common.replies import Paragraph, Reply
from bot.core.practice.ports import PlanDay, StudyPlan, TopicStats

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

PLAN_DM_ONLY = "Plans are private: send me /plan in a direct message."
PLAN_USAGE = (
    "Use /plan YYYY-MM-DD [topics] to prepare for an interview on that date (all topics, or "
    "only the ones you name), /plan to see it, /plan off to remove it."
)
PLAN_OPTIONS = {
    "date": "Interview date as YYYY-MM-DD, or off (empty: show your plan)",
    "topics": "Topics to prepare, separated by spaces or commas (default: all)",
}
WEAK_CHOICE = "Your weakest topics (weak)"  # the topic option's autocomplete on Discord


def day_name(day: date) -> str:
    return f"{day.isoformat()} ({_WEEKDAYS[day.weekday()]})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


# -- the date -------------------------------------------------------------------------------


def not_a_date(text: str, example: date) -> str:
    return (
        f"I can't read '{text.strip()[:30]}' as a date. Write the interview date as YYYY-MM-DD, "
        f"e.g. /plan {example.isoformat()}, optionally followed by topics."
    )


def no_such_date(text: str, example: date) -> str:
    return (
        f"{text[:30]} is not a date in the calendar (check the month and day). "
        f"Write it as YYYY-MM-DD, e.g. /plan {example.isoformat()}."
    )


def date_past(day: date, today: date, example: date) -> str:
    return (
        f"{day.isoformat()} is in the past (today is {today.isoformat()}). Give the date of an "
        f"interview to come, e.g. /plan {example.isoformat()}."
    )


def date_today(example: date) -> str:
    return (
        "That is today: a plan needs at least a day before the interview. Good luck! For a "
        f"later one, e.g. /plan {example.isoformat()}."
    )


def date_too_far(day: date, latest: date) -> str:
    return (
        f"{day.isoformat()} is more than a year away; a plan reaches {latest.isoformat()} at "
        "the latest. Set one closer to the date, or practise with /practice until then."
    )


# -- weak topics ----------------------------------------------------------------------------


def weak_reason(stats: TopicStats, title: str) -> str:
    """'asyncio: 4 of 10 right in the last 30 days, 3 lapses'."""
    lapses = f", {_plural(stats.lapses, 'lapse')}" if stats.lapses else ", no lapses"
    return f"{title}: {stats.recalled} of {stats.reviews} right in the last 30 days{lapses}"


def too_little_history(stats: Sequence[TopicStats], minimum: int, titles: Mapping[str, str]) -> str:
    best = sorted((s for s in stats if s.reviews), key=lambda s: (-s.reviews, s.topic))[:3]
    so_far = ", ".join(f"{titles.get(s.topic, s.topic)} {s.reviews}" for s in best)
    seen = f" So far: {so_far}." if so_far else " You have no answers in that time yet."
    return (
        f"Not enough practice to find your weak topics: I need at least {minimum} answers in a "
        f"topic within the last 30 days.{seen} /practice [topic] builds that up."
    )


NOTHING_WEAK = (
    "No weak topics: every topic you practised in the last 30 days has all answers right and "
    "no lapses. /practice [topic] takes you somewhere new."
)


def weak_intro(chosen: Sequence[TopicStats], titles: Mapping[str, str], total: int) -> Paragraph:
    reasons = "; ".join(weak_reason(s, titles.get(s.topic, s.topic)) for s in chosen)
    return Paragraph(
        f"Weak-topic drill: {_plural(total, 'question')} from your weakest "
        f"{'topic' if len(chosen) == 1 else 'topics'} ({reasons}). Due and forgotten cards "
        "come first. Multiple choice and answers in your own words take turns; /stop ends it."
    )


# -- the plan -------------------------------------------------------------------------------


def _topics(plan: StudyPlan, titles: Mapping[str, str]) -> str:
    if not plan.topics:
        return "all topics"
    return ", ".join(titles.get(t, t) for t in plan.topics)


def countdown(day: PlanDay) -> str:
    """One line for /due, /progress and the reminders."""
    if day.days_left < 0:
        return (
            f"Your interview date {day_name(day.target)} has passed. I hope it went well! "
            "/plan YYYY-MM-DD sets the next one, /plan off removes this one."
        )
    if day.days_left == 0:
        return "🎯 Your interview is today. Good luck! No cards planned today."
    when = "tomorrow" if day.days_left == 1 else f"in {day.days_left} days"
    head = f"🎯 Interview {when} ({day_name(day.target)})"
    if day.to_study == 0 and day.done_today == 0:
        return f"{head}: nothing new or weak left to study; keep up with your due reviews."
    return (
        f"{head}: today {day.done_today} of {day.per_day} planned cards done; "
        f"{_plural(day.to_study, 'card')} left to study."
    )


def plan_set_reply(
    plan: StudyPlan, day: PlanDay, titles: Mapping[str, str], reminder: str | None
) -> Reply:
    study = (
        f"{_plural(day.to_study, 'card')} to study in {_topics(plan, titles)} "
        f"({day.unseen} unseen, {day.unlearned} not learned yet) over "
        f"{_plural(day.days_left, 'day')}: {day.per_day} a day."
    )
    if day.to_study == 0:
        study = f"You have seen and learned every card in {_topics(plan, titles)} already."
    remind = (
        f"Your reminder at {reminder} now says how many are planned each day."
        if reminder
        else "/remind HH:MM [timezone] reminds you each day."
    )
    text = (
        f"Plan set: interview on {day_name(plan.target)} ({plan.timezone}). {study} /practice "
        f"takes new cards from the plan; /due and /progress show the countdown. {remind} "
        "/plan off removes the plan."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def plan_status_reply(plan: StudyPlan, day: PlanDay, titles: Mapping[str, str]) -> Reply:
    text = (
        f"Your plan: interview on {day_name(plan.target)} ({plan.timezone}), "
        f"{_topics(plan, titles)}. {countdown(day)} /plan off removes it."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def no_plan_reply() -> Reply:
    text = f"You have no plan. {PLAN_USAGE}"
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def plan_off_reply(had_one: bool) -> Reply:
    text = "Plan removed." if had_one else "You had no plan."
    return Reply((Paragraph(text),), private=True, summary=text)


def reminder_text(due_now: int, day: PlanDay | None) -> str:
    """The daily reminder: the cards due, and with a plan how many are planned today."""
    parts = []
    if due_now:
        parts.append(f"{_plural(due_now, 'practice card')} due for review")
    if day is not None and day.days_left > 0 and day.left_today:
        when = "tomorrow" if day.days_left == 1 else f"in {day.days_left} days"
        parts.append(
            f"{day.left_today} of today's {day.per_day} planned cards still to study for your "
            f"interview {when} ({day.target.isoformat()})"
        )
    return f"📚 {' and '.join(parts) or 'Nothing due'}. Send /practice when you have a few minutes."
