"""Weak-topic drills and the interview-date plan: the pure part (selection, arguments, days).

Nothing here reads a store or a clock: the coach (bot/core/practice/coach.py) hands in what
the store holds and today's local date, and gets values back that the texts word.

- **Weak topics** (`pick_weak`): each topic's answers in the last `RECENT` (30 days), and the
  lapses of its cards (times a learned card was forgotten). Topics with fewer than
  `MIN_RECENT_REVIEWS` recent answers are not judged; of the rest, those not perfect (some
  answer wrong, or a lapse) are weakest first: the lowest share right, then the most lapses.
- **The plan** (`parse_plan_args`, `plan_day`): a target date in the learner's own timezone,
  at least tomorrow and at most a year ahead, and optionally some topics. What is left to
  study is every question of those topics that is unseen (no card) or not learned (its card
  still in FSRS's learning or relearning phase); it is spread evenly over the days left
  before the date (the interview day itself is not one of them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.common.errors import QuizError
from bot.core.practice import plan_texts as tx
from bot.core.practice.ports import PlanDay, TopicStats
from bot.core.practice.srs import CardPhase, CardState

RECENT = timedelta(days=30)  # "recent" for weak topics
MIN_RECENT_REVIEWS = 5  # answers in a topic within RECENT before it is judged
WEAK_TOPICS = 3  # at most this many topics in one weak drill
MAX_AHEAD_YEARS = 1  # a plan's date is at most this far ahead
WEAK_WORD = "weak"  # `/practice weak`
_OFF = frozenset({"off", "stop", "none", "delete", "clear"})
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SPLIT = re.compile(r"[\s,;]+")


# -- weak topics ------------------------------------------------------------------------------


def is_weak_request(topic: str | None) -> bool:
    return topic is not None and topic.strip().casefold() == WEAK_WORD


def accuracy(stats: TopicStats) -> float:
    return stats.recalled / stats.reviews if stats.reviews else 0.0


def pick_weak(stats: Iterable[TopicStats], limit: int = WEAK_TOPICS) -> list[TopicStats]:
    """The weakest judged topics: the lowest recent share right, then the most lapses."""
    judged = [s for s in stats if s.reviews >= MIN_RECENT_REVIEWS]
    weak = [s for s in judged if s.recalled < s.reviews or s.lapses > 0]
    weak.sort(key=lambda s: (accuracy(s), -s.lapses, -s.reviews, s.topic))
    return weak[:limit]


def weak_order(
    cards: Sequence[CardState], unseen: Sequence[str], now: datetime, size: int
) -> list[str]:
    """A weak drill's questions for one topic, best first: cards due now (most overdue
    first), then cards not learned, then those forgotten most often, then unseen questions."""
    due = sorted((c for c in cards if c.due <= now), key=lambda c: (c.due, c.question_id))
    unlearned = sorted(
        (c for c in cards if c.phase is not CardPhase.REVIEW), key=lambda c: (c.due, c.question_id)
    )
    lapsed = sorted((c for c in cards if c.lapses), key=lambda c: (-c.lapses, -(c.difficulty or 0)))
    order: list[str] = []
    for qid in [c.question_id for c in (*due, *unlearned, *lapsed)] + list(unseen):
        if qid not in order:
            order.append(qid)
    return order[:size]


def interleave(lists: Sequence[Sequence[str]], size: int) -> list[str]:
    """Round-robin over the lists (one topic each), so every chosen topic gets its turn."""
    out: list[str] = []
    for row in range(max((len(x) for x in lists), default=0)):
        out.extend(x[row] for x in lists if row < len(x) and x[row] not in out)
    return out[:size]


# -- the plan's arguments ---------------------------------------------------------------------


class PlanAction(StrEnum):
    SHOW = "show"
    OFF = "off"
    SET = "set"


@dataclass(frozen=True, slots=True)
class PlanRequest:
    action: PlanAction
    target: date | None = None
    topics: tuple[str, ...] = ()  # slugs; () = every topic


def add_years(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_date(text: str, today: date) -> date:
    """An interview date as YYYY-MM-DD, tomorrow at the earliest and a year ahead at the
    latest; anything else a QuizError saying what is wrong."""
    example = today + timedelta(days=60)
    m = _DATE_RE.match(text.strip())
    if m is None:
        raise QuizError(tx.not_a_date(text, example))
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise QuizError(tx.no_such_date(text.strip(), example)) from None
    if day < today:
        raise QuizError(tx.date_past(day, today, example))
    if day == today:
        raise QuizError(tx.date_today(example))
    latest = add_years(today, MAX_AHEAD_YEARS)
    if day > latest:
        raise QuizError(tx.date_too_far(day, latest))
    return day


def parse_plan_args(
    args: Sequence[str], today: date, resolve: Callable[[str], str | None]
) -> PlanRequest:
    """`/plan`, `/plan off`, `/plan YYYY-MM-DD [topic ...]` (topics separated by spaces or
    commas, each as /practice takes it: slug, title or a unique prefix; `resolve` raises a
    QuizError for an unknown one)."""
    words = [w for a in args for w in _SPLIT.split(a) if w]
    if not words:
        return PlanRequest(PlanAction.SHOW)
    if len(words) == 1 and words[0].casefold() in _OFF:
        return PlanRequest(PlanAction.OFF)
    target = parse_date(words[0], today)
    topics: list[str] = []
    for word in words[1:]:
        slug = resolve(word)
        if slug is not None and slug not in topics:
            topics.append(slug)
    return PlanRequest(PlanAction.SET, target, tuple(topics))


# -- the plan's days --------------------------------------------------------------------------


def local_today(now: datetime, timezone: str) -> date:
    """The date at `now` (aware) in an IANA timezone."""
    return now.astimezone(ZoneInfo(timezone)).date()


def plan_day(
    target: date,
    today: date,
    questions: Collection[str],
    cards: Iterable[CardState],
    reviewed_today: Collection[str],
) -> PlanDay:
    """Today's share: what was left to study when the day began (what is left now, plus the
    cards learned by today's reviews) over the days left, rounded up, so today's target does
    not move while the learner works through it."""
    wanted = set(questions)
    mine = {c.question_id: c for c in cards if c.question_id in wanted}
    unlearned = {q for q, c in mine.items() if c.phase is not CardPhase.REVIEW}
    unseen = len(wanted) - len(mine)
    done = wanted.intersection(reviewed_today)
    learned_today = len(done - unlearned)  # reviewed today and learned now
    days_left = (target - today).days
    at_start = unseen + len(unlearned) + learned_today
    per_day = math.ceil(at_start / days_left) if days_left > 0 else 0
    return PlanDay(target, days_left, unseen, len(unlearned), len(done), per_day)
