"""The pure daily domain: what admins type (and the shared time parser), DST-correct fire
times, the per-date pick."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import EmptyBank, QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.timeparse import parse_time, parse_timezone
from bot.core.daily.args import parse_set_args, parse_window
from bot.core.daily.model import (
    Subscription,
    due_post,
    fire_instant,
    latest_fire,
    local_date,
    next_fire,
)
from bot.core.daily.pick import daily_pick, daily_pool

CHAT = ChatRef(Platform.TELEGRAM, "-100", "-100")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def sub(at: str, zone: str, **kw: object) -> Subscription:
    return replace(Subscription(CHAT, time.fromisoformat(at), zone, since=LONG_AGO), **kw)  # type: ignore[arg-type]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", time(9)), ("9:30", time(9, 30)), ("21.15", time(21, 15)), (" 7h05 ", time(7, 5))],
)
def test_times_of_day(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9", "09:60", "noon", "9:5"])
def test_bad_times_say_what_to_type(text: str) -> None:
    with pytest.raises(QuizError, match=r"is not a time of day\. Use HH:MM on a 24-hour clock"):
        parse_time(text)


def test_timezones_are_iana_names_case_insensitive() -> None:
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    assert parse_timezone("UTC") == "UTC"
    assert parse_timezone("America/Argentina/Buenos_Aires") == "America/Argentina/Buenos_Aires"


def test_unknown_timezone_suggests_and_says_where_to_look() -> None:
    with pytest.raises(QuizError) as err:
        parse_timezone("Berlin")
    assert "Did you mean Europe/Berlin?" in err.value.message
    assert "List_of_tz_database_time_zones" in err.value.message
    with pytest.raises(QuizError, match="I don't know the timezone 'Mars/Olympus'"):
        parse_timezone("Mars/Olympus")


def test_answer_windows() -> None:
    assert parse_window("12h") == timedelta(hours=12)
    assert parse_window("1h30m") == timedelta(minutes=90)
    assert parse_window("2m") == timedelta(minutes=2)
    with pytest.raises(QuizError, match="between 1 minute and 23 hours"):
        parse_window("24h")
    with pytest.raises(QuizError, match="is not an answer window"):
        parse_window("soon")


def test_set_arguments_in_any_order(bank: QuestionBank) -> None:
    args = parse_set_args(["18:30", "Europe/Berlin", "beta,alpha", "senior", "6h"], bank)
    assert args.time == time(18, 30)
    assert args.timezone == "Europe/Berlin"
    assert args.topics == ("beta", "alpha")
    assert args.difficulty == 3
    assert args.window == timedelta(hours=6)
    assert parse_set_args([], bank).time is None
    assert parse_set_args(["alpha", "utc"], bank).topics == ("alpha",)


def test_set_arguments_name_the_bad_word(bank: QuestionBank) -> None:
    with pytest.raises(QuizError, match="'Atlantis' is neither a topic nor a timezone"):
        parse_set_args(["09:00", "Atlantis"], bank)
    with pytest.raises(QuizError, match=r"Did you mean Europe/Berlin\?"):
        parse_set_args(["09:00", "berlin"], bank)
    with pytest.raises(QuizError, match="'25:00' is not a time of day"):
        parse_set_args(["25:00"], bank)
    with pytest.raises(QuizError, match="I don't understand '7'"):
        parse_set_args(["09:00", "7"], bank)


# -- time and DST ------------------------------------------------------------------------------


def test_spring_forward_gap_fires_once_shifted_by_the_gap() -> None:
    """02:30 does not exist in New York on 2026-03-08 (02:00 -> 03:00): it fires at 03:30 EDT,
    the instant 02:30 EST would have been, and the next day at 02:30 EDT again."""
    s = sub("02:30", "America/New_York")
    day, at = next_fire(s, utc(2026, 3, 7, 8, 0))
    assert (day, at) == (date(2026, 3, 8), utc(2026, 3, 8, 7, 30))
    assert at.astimezone(s.zone).strftime("%H:%M %Z") == "03:30 EDT"
    day2, at2 = next_fire(s, at)
    assert (day2, at2) == (date(2026, 3, 9), utc(2026, 3, 9, 6, 30))
    assert at2 - at == timedelta(hours=23)


def test_fall_back_ambiguous_time_fires_once_at_its_first_occurrence() -> None:
    s = sub("01:30", "America/New_York")
    day, at = next_fire(s, utc(2026, 10, 31, 12, 0))
    assert (day, at) == (date(2026, 11, 1), utc(2026, 11, 1, 5, 30))  # 01:30 EDT
    day2, at2 = next_fire(s, at)
    assert (day2, at2) == (date(2026, 11, 2), utc(2026, 11, 2, 6, 30))  # 01:30 EST
    assert at2 - at == timedelta(hours=25)  # never twice on the repeated hour


def test_europe_dst_keeps_the_wall_clock() -> None:
    s = sub("09:00", "Europe/Berlin")
    assert next_fire(s, utc(2026, 3, 28, 12))[1] == utc(2026, 3, 29, 7)  # CEST starts
    assert next_fire(s, utc(2026, 3, 27, 12))[1] == utc(2026, 3, 28, 8)  # still CET
    spring = sub("02:30", "Europe/Berlin")
    assert next_fire(spring, utc(2026, 3, 28, 12)) == (date(2026, 3, 29), utc(2026, 3, 29, 1, 30))


def test_local_date_differs_from_utc_date() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert local_date(utc(2026, 11, 30, 22, 0), tokyo) == date(2026, 12, 1)
    assert fire_instant(date(2026, 12, 1), time(7), tokyo) == utc(2026, 11, 30, 22, 0)


def test_next_fire_respects_since() -> None:
    s = sub("09:00", "UTC", since=utc(2026, 12, 1, 10))
    assert next_fire(s, utc(2026, 11, 30)) == (date(2026, 12, 2), utc(2026, 12, 2, 9))


def test_due_post_only_inside_the_answer_window_and_after_since() -> None:
    s = sub("09:00", "Europe/Berlin", window=timedelta(hours=12))
    assert latest_fire(s, utc(2026, 12, 1, 7, 59)) == (date(2026, 11, 30), utc(2026, 11, 30, 8))
    assert due_post(s, utc(2026, 12, 1, 7, 59)) is None  # yesterday's window closed at 20:00
    assert due_post(s, utc(2026, 12, 1, 8, 0)) == (date(2026, 12, 1), utc(2026, 12, 1, 8))
    assert due_post(s, utc(2026, 12, 1, 19, 59)) == (date(2026, 12, 1), utc(2026, 12, 1, 8))
    assert due_post(s, utc(2026, 12, 1, 20, 0)) is None
    fresh = sub("09:00", "Europe/Berlin", since=utc(2026, 12, 1, 9))
    assert due_post(fresh, utc(2026, 12, 1, 10)) is None  # set after today's time: tomorrow


# -- the question of the day -------------------------------------------------------------------


def test_pick_is_deterministic_and_cycles_without_repeats(bank: QuestionBank) -> None:
    pool = daily_pool(bank, (), None)
    assert len(pool) == 5
    start = date(2026, 1, 1)
    days = [start + timedelta(days=i) for i in range(60)]
    picks = [daily_pick(pool, d).id for d in days]
    assert picks == [daily_pick(list(reversed(pool)), d).id for d in days]  # order-independent
    for offset in range(60 - 5):
        window = picks[offset : offset + 2]
        assert window[0] != window[1], f"repeat on consecutive days at {days[offset]}"
    cycle_start = next(i for i, d in enumerate(days) if d.toordinal() % 5 == 0)
    for c in range(cycle_start, 55, 5):
        assert sorted(picks[c : c + 5]) == sorted(q.id for q in pool)


def test_pick_respects_filters(bank: QuestionBank) -> None:
    pool = daily_pool(bank, ("alpha",), None)
    assert {q.topic for q in pool} == {"alpha"}
    for i in range(12):
        assert daily_pick(pool, date(2026, 5, 1) + timedelta(days=i)).topic == "alpha"
    assert [q.id for q in daily_pool(bank, (), 2)] == ["alpha-two", "beta-two"]
    with pytest.raises(EmptyBank):
        daily_pool(bank, ("beta",), 3)
