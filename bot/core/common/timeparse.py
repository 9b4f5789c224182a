"""The one parser for what people type as a time of day and as a timezone.

`/daily set` and `/remind` both use it, so both accept the same spellings ('9:30', '21.15',
'7h05'; 'europe/berlin' for Europe/Berlin) and both answer a city name alone ('Berlin') with
the same "did you mean Europe/Berlin?" hint.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.common import texts
from bot.core.common.errors import QuizError

TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")


def parse_time(text: str) -> time:
    """'09:00', '9:30', '21.15', '7h05' -> a time of day; anything else: a clear QuizError."""
    m = TIME_RE.match(text.strip())
    if not m:
        raise QuizError(texts.not_a_time(text))
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
    raise QuizError(texts.unknown_timezone(wanted, zones_of_city(wanted)))


def zones_of_city(word: str) -> list[str]:
    """The zones named after a city ('berlin' -> ['Europe/Berlin']), sorted."""
    return sorted(_cities().get(word.strip().replace("_", " ").casefold(), []))


def looks_like_timezone(word: str) -> bool:
    return "/" in word or word.casefold() in _zone_names()


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (for menus and autocomplete)."""
    return tuple(sorted(set(_zone_names().values())))
