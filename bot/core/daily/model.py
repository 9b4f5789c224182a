"""The daily question's model, pure: subscriptions, claims and deliveries, and fire times.

Times: a subscription has a local wall-clock time and an IANA timezone. Its fire instant on a
local date is that wall time read with `fold=0` (PEP 495), so on a spring-forward day a time in
the gap (02:30 when clocks jump 02:00 -> 03:00) fires at the same instant 02:30 would have had
before the jump (03:30 new time), and on a fall-back day an ambiguous time fires once, at its
first occurrence. Every place gets exactly one post per local date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.common.identity import ChatRef


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
