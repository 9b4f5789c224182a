"""Property-based: what people type as a time of day or a timezone (`/daily set`, `/remind`)
is parsed or refused with a QuizError that says what is expected, never another exception."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.core.common.errors import QuizError
from bot.core.common.timeparse import (
    looks_like_timezone,
    parse_time,
    parse_timezone,
    zone_names,
    zones_of_city,
)
from tests.core.properties import ANY_TEXT, PROPERTIES, attempt

TIMEISH = st.from_regex(r"\s?[0-9]{0,3}[:.h,]?[0-9]{0,3}\s?", fullmatch=True)
ZONES = st.sampled_from(zone_names())


@PROPERTIES
@given(st.one_of(ANY_TEXT, TIMEISH))
def test_a_time_of_day_is_parsed_or_refused_clearly(text: str) -> None:
    parsed = attempt(lambda: parse_time(text))
    if isinstance(parsed, QuizError):
        assert "is not a time of day" in parsed.message
        return
    assert parse_time(f"{parsed:%H:%M}") == parsed


@PROPERTIES
@given(st.integers(0, 23), st.integers(0, 59), st.sampled_from(":.h"))
def test_every_clock_time_is_understood(hour: int, minute: int, sep: str) -> None:
    assert parse_time(f" {hour}{sep}{minute:02d}\n") == time(hour, minute)


@PROPERTIES
@given(st.one_of(ANY_TEXT, ZONES.map(str.swapcase), st.builds("/".join, st.lists(ANY_TEXT))))
def test_a_timezone_is_parsed_or_refused_clearly(text: str) -> None:
    looks_like_timezone(text)
    zones_of_city(text)
    zone = attempt(lambda: parse_timezone(text))
    if isinstance(zone, QuizError):
        assert "I don't know the timezone" in zone.message
        return
    ZoneInfo(zone)  # a name this machine can use
    assert zone.casefold() == text.strip().casefold() or zone == "UTC"


@PROPERTIES
@given(ZONES, st.sampled_from([str.lower, str.upper, str.strip, lambda z: f"  {z}\t"]))
def test_every_zone_is_found_in_any_case(zone: str, spell: object) -> None:
    assert callable(spell)
    assert parse_timezone(spell(zone)) == zone
