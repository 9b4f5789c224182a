"""The daily question, pure: subscriptions, input validation, fire times, the per-date pick.

Times: a subscription has a local wall-clock time and an IANA timezone. Its fire instant on a
local date is that wall time read with `fold=0` (PEP 495), so on a spring-forward day a time in
the gap (02:30 when clocks jump 02:00 -> 03:00) fires at the same instant 02:30 would have had
before the jump (03:30 new time), and on a fall-back day an ambiguous time fires once, at its
first occurrence. Every place gets exactly one post per local date.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.bank.question_bank import QuestionBank, parse_difficulty
from bot.core.bank.questions import Question
from bot.core.common.errors import EmptyBank, QuizError, UnknownDifficulty
from bot.core.common.identity import ChatRef

TZ_LIST_URL = "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones"
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(hours=23)
_TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_WINDOW_RE = re.compile(r"^(?:(\d{1,2})h)?(?:(\d{1,4})m(?:in)?)?$")


@dataclass(frozen=True, slots=True)
class DailyDefaults:
    """What `/daily set` uses for what the admin leaves out (the `[daily]` config section)."""

    time: time = time(9, 0)
    timezone: str = "UTC"
    window: timedelta = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A place's daily question: when (local time + zone), what (filters), for how long."""

    chat: ChatRef
    time: time
    timezone: str
    since: datetime  # the schedule counts from here (UTC): no catch-up for earlier posts
    topics: tuple[str, ...] = ()
    difficulty: int | None = None
    window: timedelta = timedelta(hours=12)
    recap: bool = True
    active: bool = True
    disabled_reason: str | None = None
    id: int = 0  # 0 until stored

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DeliveryState(StrEnum):
    SENDING = "sending"  # a process is posting it now (or crashed while posting)
    DELIVERED = "delivered"
    FAILED = "failed"  # transient failure; retried while attempts and the window remain
    GONE = "gone"  # forbidden / not found: the subscription was disabled
    UNCERTAIN = "uncertain"  # was SENDING when the process died; resent with the same nonce
    SKIPPED = "skipped"  # nothing to send (empty recap, reveal of a post that never went out)


class DeliveryKind(StrEnum):
    QUESTION = "question"
    REVEAL = "reveal"
    RECAP = "recap"


@dataclass(frozen=True, slots=True)
class Claim:
    """One daily run: a subscription's post for one local date (unique per pair)."""

    id: int
    subscription_id: int
    day: date
    question_id: str
    fire_at: datetime
    closes_at: datetime
    round_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    claim_id: int
    kind: DeliveryKind
    chat_key: str
    state: DeliveryState
    attempts: int
    message_ref: str | None = None
    error: str | None = None


class DailyStore(Protocol):
    """Subscriptions, claims and deliveries. Implemented over SQLite and in memory."""

    async def save_subscription(self, sub: Subscription) -> Subscription:
        """Insert or replace the subscription of `sub.chat` (one per place); returns it with id."""
        ...

    async def subscription(self, sub_id: int) -> Subscription | None: ...

    async def subscription_for(self, chat: ChatRef) -> Subscription | None: ...

    async def subscriptions(self, *, active_only: bool = True) -> list[Subscription]: ...

    async def claim(
        self, sub_id: int, day: date, question_id: str, fire_at: datetime, closes_at: datetime
    ) -> tuple[Claim, bool]:
        """The claim of (subscription, day), inserted if new; True if this call inserted it."""
        ...

    async def get_claim(self, claim_id: int) -> Claim | None: ...

    async def set_claim_round(self, claim_id: int, round_id: str) -> bool:
        """Record the round of a claim once; False if it already had one."""
        ...

    async def open_claims(self, closes_after: datetime) -> list[Claim]:
        """Claims closing after `closes_after` whose reveal is not settled (delivered,
        skipped or gone), oldest first."""
        ...

    async def begin_delivery(
        self, claim_id: int, kind: DeliveryKind, chat_key: str, max_attempts: int, at: datetime
    ) -> int | None:
        """Take the right to send: creates the delivery as SENDING, or moves a FAILED or
        UNCERTAIN one with attempts left back to SENDING. Returns the attempt number, or None
        if it is delivered, being sent, gone, skipped or out of attempts. Atomic."""
        ...

    async def finish_delivery(
        self,
        claim_id: int,
        kind: DeliveryKind,
        state: DeliveryState,
        at: datetime,
        *,
        message_ref: str | None = None,
        error: str | None = None,
    ) -> None: ...

    async def delivery(self, claim_id: int, kind: DeliveryKind) -> Delivery | None: ...

    async def recover(self) -> int:
        """At start: every SENDING delivery was cut off by a crash -> UNCERTAIN. Returns count."""
        ...


# -- parsing what an admin typed ----------------------------------------------------------------


def parse_time(text: str) -> time:
    """'09:00', '9:30', '21.15', '7h05' -> a time of day; anything else: a clear QuizError."""
    m = _TIME_RE.match(text.strip())
    if not m:
        raise QuizError(
            f"'{text.strip()[:20]}' is not a time of day. Use HH:MM on a 24-hour clock, "
            "e.g. 09:00 or 18:30."
        )
    return time(int(m.group(1)), int(m.group(2)))


@cache
def _zone_names() -> dict[str, str]:
    names = {name.casefold(): name for name in available_timezones()}
    names.update({"utc": "UTC", "gmt": "UTC", "z": "UTC"})
    return names


@cache
def _cities() -> dict[str, list[str]]:
    cities: dict[str, list[str]] = {}
    for name in available_timezones():
        if "/" in name and not name.startswith(("Etc/", "SystemV/")):
            city = name.rsplit("/", 1)[1].replace("_", " ").casefold()
            cities.setdefault(city, []).append(name)
    return cities


def parse_timezone(text: str) -> str:
    """An IANA timezone name, case-insensitive ('europe/berlin' -> 'Europe/Berlin')."""
    wanted = text.strip()
    found = _zone_names().get(wanted.casefold())
    if found is not None:
        try:
            ZoneInfo(found)
        except (ZoneInfoNotFoundError, ValueError):
            found = None
    if found is not None:
        return found
    hint = ""
    matches = sorted(_cities().get(wanted.replace("_", " ").casefold(), []))
    if matches:
        hint = f" Did you mean {' or '.join(matches[:3])}?"
    raise QuizError(
        f"I don't know the timezone '{wanted[:40]}'.{hint} Use an IANA name such as "
        "Europe/Berlin, America/New_York or Asia/Kolkata; find yours in the "
        f"'TZ identifier' column of {TZ_LIST_URL}"
    )


def looks_like_timezone(word: str) -> bool:
    return "/" in word or word.casefold() in _zone_names()


def parse_window(text: str) -> timedelta:
    """'12h', '90m', '1h30m' -> the answer window (1 minute to 23 hours)."""
    m = _WINDOW_RE.match(text.strip().casefold())
    if not m or not (m.group(1) or m.group(2)):
        raise QuizError(
            f"'{text.strip()[:20]}' is not an answer window. Use hours and/or minutes, "
            "e.g. 12h, 90m or 1h30m."
        )
    window = timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0))
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise QuizError("The answer window must be between 1 minute and 23 hours.")
    return window


@dataclass(frozen=True, slots=True)
class SetArgs:
    time: time | None = None
    timezone: str | None = None
    topics: tuple[str, ...] = ()
    difficulty: int | None = None
    window: timedelta | None = None


def parse_set_args(words: Sequence[str], bank: QuestionBank) -> SetArgs:
    """`/daily set [HH:MM] [timezone] [topics...] [junior|mid|senior] [window]`, in any order
    after the time. Topics may be separated by spaces or commas."""
    when: time | None = None
    zone: str | None = None
    topics: list[str] = []
    level: int | None = None
    window: timedelta | None = None
    tokens = [t for w in words for t in w.replace(",", " ").split() if t]
    for position, word in enumerate(tokens):
        if position == 0 and (_TIME_RE.match(word) or (word[:1].isdigit() and ":" in word)):
            when = parse_time(word)
        elif _WINDOW_RE.match(word.casefold()) and word[:1].isdigit() and word[-1:].isalpha():
            window = parse_window(word)
        elif looks_like_timezone(word):
            zone = parse_timezone(word)
        else:
            try:
                level = parse_difficulty(word)
                continue
            except UnknownDifficulty:
                pass
            try:
                slug = bank.resolve_topic(word)
            except QuizError:
                if word.replace("_", " ").casefold() in _cities():
                    parse_timezone(word)  # raises, suggesting the full name
                if any(c.isdigit() for c in word):
                    raise QuizError(
                        f"I don't understand '{word[:20]}'. Use /daily set HH:MM [timezone] "
                        "[topics] [junior|mid|senior] [answer window like 12h]."
                    ) from None
                raise QuizError(
                    f"'{word[:40]}' is neither a topic nor a timezone. Topics: see /topics. "
                    "Timezones are IANA names such as Europe/Berlin; find yours in the "
                    f"'TZ identifier' column of {TZ_LIST_URL}"
                ) from None
            if slug and slug not in topics:
                topics.append(slug)
    return SetArgs(when, zone, tuple(topics), level, window)


# -- time -----------------------------------------------------------------------------------


def fire_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on local `day` (fold=0: gap -> shifted, fold -> first)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def next_fire(sub: Subscription, after: datetime) -> tuple[date, datetime]:
    """The first (local date, UTC instant) strictly after `after` and not before `sub.since`."""
    zone = sub.zone
    after = max(after, sub.since - timedelta(microseconds=1))
    day = local_date(after, zone) - timedelta(days=1)
    while True:
        instant = fire_instant(day, sub.time, zone)
        if instant > after:
            return day, instant
        day += timedelta(days=1)


def latest_fire(sub: Subscription, now: datetime) -> tuple[date, datetime] | None:
    """The most recent (local date, instant) at or before `now`, if not before `sub.since`."""
    zone = sub.zone
    day = local_date(now, zone) + timedelta(days=1)
    for _ in range(3):
        instant = fire_instant(day, sub.time, zone)
        if instant <= now:
            return (day, instant) if instant >= sub.since else None
        day -= timedelta(days=1)
    return None  # pragma: no cover - a local day never lasts 48 hours


def due_post(sub: Subscription, now: datetime) -> tuple[date, datetime] | None:
    """Today's post if its time has come and its answer window is still open (catch-up)."""
    latest = latest_fire(sub, now)
    if latest is None or now >= latest[1] + sub.window:
        return None
    return latest


# -- the question of the day ----------------------------------------------------------------


def daily_pool(bank: QuestionBank, topics: Iterable[str], difficulty: int | None) -> list[Question]:
    wanted = set(topics)
    pool = [
        q
        for q in bank.questions
        if (not wanted or q.topic in wanted) and (difficulty is None or q.difficulty == difficulty)
    ]
    if not pool:
        raise EmptyBank("There are no questions for those topics and that difficulty.")
    return sorted(pool, key=lambda q: q.id)


def _cycle_order(ids: tuple[str, ...], cycle: int) -> list[str]:
    order = list(ids)
    random.Random(f"stackprep-daily:{cycle}:{len(ids)}").shuffle(order)
    return order


def daily_pick(pool: Sequence[Question], day: date) -> Question:
    """The question of `day` for this pool: the same for every place with the same filters.

    Days are numbered by their ordinal; each run of len(pool) days (a cycle) walks a fresh
    deterministic permutation, so no question repeats within a cycle, and the first question of
    a cycle is never the last of the previous one.
    """
    ids = tuple(sorted(q.id for q in pool))
    by_id = {q.id: q for q in pool}
    cycle, position = divmod(day.toordinal(), len(ids))
    order = _cycle_order(ids, cycle)
    if len(ids) > 1 and order[0] == _cycle_order(ids, cycle - 1)[-1]:
        order[0], order[1] = order[1], order[0]
    return by_id[order[position]]
