"""Configuration: a TOML file plus the environment -> frozen dataclasses.

Nothing is read at import time. Secrets (platform tokens) come only from the environment and
are wrapped in `Secret`, whose repr and str never show the value. A bad file or value raises
ConfigError naming the file, the key and what is expected.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from bot.core.common.errors import ConfigError, QuizError
from bot.core.common.secret import Secret
from bot.core.common.timeparse import parse_time, parse_timezone, zones_of_city
from bot.core.quiz import ScoringRules

ENV_CONFIG = "STACKPREP_CONFIG"
ENV_DISCORD_TOKEN = "STACKPREP_DISCORD_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_TELEGRAM_TOKEN = "STACKPREP_TELEGRAM_TOKEN"  # noqa: S105
ENV_DATABASE = "STACKPREP_DATABASE"


def shipped_questions() -> Path:
    """The question bank Stackprep ships: package data in an installed wheel (the build copies
    the repository's top-level questions/ into bot/questions), else the checkout's questions/."""
    packaged = resources.files("bot") / "questions"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "questions"


@dataclass(frozen=True)
class DatabaseConfig:
    path: Path = Path("data/stackprep.db")
    busy_timeout_ms: int = 5000


@dataclass(frozen=True)
class QuizConfig:
    questions_dir: Path = Path("questions")
    round_ttl: timedelta = timedelta(hours=24)
    asks_per_minute: int = 10


@dataclass(frozen=True)
class DiscordConfig:
    enabled: bool = True
    token: Secret | None = None


@dataclass(frozen=True)
class TelegramConfig:
    enabled: bool = True
    token: Secret | None = None
    api_base_url: str | None = None


@dataclass(frozen=True)
class DailyConfig:
    time: str = "09:00"
    timezone: str = "UTC"
    answer_window: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class PracticeConfig:
    session_size: int = 5
    timeout: timedelta = timedelta(minutes=30)
    fuzzy_threshold: float = 88.0
    desired_retention: float = 0.9


@dataclass(frozen=True)
class Config:
    source: Path | None = None
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    quiz: QuizConfig = field(default_factory=QuizConfig)
    scoring: ScoringRules = field(default_factory=ScoringRules)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    daily: DailyConfig = field(default_factory=DailyConfig)
    practice: PracticeConfig = field(default_factory=PracticeConfig)
    log_level: str = "INFO"

    @property
    def discord_active(self) -> bool:
        return self.discord.enabled and self.discord.token is not None

    @property
    def telegram_active(self) -> bool:
        return self.telegram.enabled and self.telegram.token is not None


# -- validation helpers ---------------------------------------------------------------------

Check = Callable[[Any], Any]


def _int(low: int, high: int) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return int(v)

    return check


def _num(low: float, high: float) -> Check:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
            raise ValueError(f"a number from {low} to {high}")
        return float(v)

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("a non-empty string")
    return v.strip()


def _hhmm(v: Any) -> str:
    """The same parser as `/daily set` and `/remind` (bot/core/common/timeparse.py)."""
    try:
        return f"{parse_time(_str(v)):%H:%M}"
    except (QuizError, ValueError):
        raise ValueError('a time of day as "HH:MM" (24-hour), e.g. "09:00"') from None


def _tz(v: Any) -> str:
    text = _str(v)
    try:
        return parse_timezone(text)
    except QuizError:
        cities = zones_of_city(text)
        hint = f"; did you mean {' or '.join(cities[:3])}?" if cities else ""
        raise ValueError(f'an IANA timezone name such as "UTC" or "Europe/Berlin"{hint}') from None


def _url(v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"https?://[^\s]+", v.strip()):
        raise ValueError("an http:// or https:// URL")
    return v.strip().rstrip("/")


def _level(v: Any) -> str:
    levels = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    if not isinstance(v, str) or v.upper() not in levels:
        raise ValueError("one of " + ", ".join(sorted(levels)))
    return v.upper()


def _base(v: Any) -> tuple[int, int, int]:
    if (
        not isinstance(v, list)
        or len(v) != 3
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1000 for x in v)
    ):
        raise ValueError("a list of three whole numbers (junior, mid, senior), e.g. [10, 20, 30]")
    return (v[0], v[1], v[2])


_SCHEMA: dict[str, dict[str, Check]] = {
    "database": {"path": _str, "busy_timeout_ms": _int(0, 600_000)},
    "quiz": {
        "questions_dir": _str,
        "round_ttl_hours": _num(0.01, 24 * 30),
        "asks_per_minute": _int(1, 1000),
    },
    "scoring": {
        "base_points": _base,
        "speed_bonus_percent": _int(0, 500),
        "speed_window_minutes": _int(1, 24 * 60),
        "streak_bonus_step": _int(0, 100),
        "streak_bonus_cap": _int(0, 1000),
        "repeat_window_days": _int(0, 365),
        "daily_cap": _int(0, 100_000),
    },
    "discord": {"enabled": _bool},
    "telegram": {"enabled": _bool, "api_base_url": _url},
    "daily": {"time": _hhmm, "timezone": _tz, "answer_window_hours": _num(0.1, 24)},
    "practice": {
        "session_size": _int(1, 50),
        "timeout_minutes": _int(1, 24 * 60),
        "fuzzy_threshold": _num(50, 100),
        "desired_retention": _num(0.7, 0.99),
    },
    "logging": {"level": _level},
}


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _validated(raw: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section, values in raw.items():
        if section not in _SCHEMA:
            known = ", ".join(f"[{s}]" for s in _SCHEMA)
            raise ConfigError(f"{where}: unknown section [{section}] (known: {known})")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        out[section] = {}
        for key, value in values.items():
            check = _SCHEMA[section].get(key)
            if check is None:
                if section in {"discord", "telegram"} and key == "token":
                    raise ConfigError(
                        f"{where}: [{section}] token: tokens are read only from the environment "
                        f"(STACKPREP_{section.upper()}_TOKEN); remove it from the file"
                    )
                known = ", ".join(_SCHEMA[section])
                raise ConfigError(f"{where}: [{section}] unknown key '{key}' (known: {known})")
            try:
                out[section][key] = check(value)
            except ValueError as exc:
                raise ConfigError(
                    f"{where}: [{section}] {key} = {value!r}: expected {exc}"
                ) from None
    return out


def load_config(path: Path | None, environ: Mapping[str, str]) -> Config:
    """Build the Config from an optional file (explicit path or STACKPREP_CONFIG) and the env."""
    if path is None and environ.get(ENV_CONFIG):
        path = Path(environ[ENV_CONFIG])
    raw = _read(path) if path is not None else {}
    v = _validated(raw, str(path) if path else "config")
    base = path.parent if path is not None else Path.cwd()

    def rel(p: str) -> Path:
        candidate = Path(p).expanduser()
        return candidate if candidate.is_absolute() else base / candidate

    db = v.get("database", {})
    db_path = rel(db.get("path", "data/stackprep.db"))
    if environ.get(ENV_DATABASE):
        db_path = Path(environ[ENV_DATABASE])
    quiz = v.get("quiz", {})
    questions = rel(quiz["questions_dir"]) if "questions_dir" in quiz else None
    if questions is None:
        local = Path.cwd() / "questions"
        questions = local if local.is_dir() else shipped_questions()
    s = v.get("scoring", {})
    d = ScoringRules()
    rules = ScoringRules(
        base_points=s.get("base_points", d.base_points),
        speed_bonus_fraction=s.get("speed_bonus_percent", 50) / 100,
        speed_window=timedelta(minutes=s.get("speed_window_minutes", 60)),
        streak_step=s.get("streak_bonus_step", d.streak_step),
        streak_cap=s.get("streak_bonus_cap", d.streak_cap),
        repeat_window=timedelta(days=s.get("repeat_window_days", 7)),
        daily_cap=s.get("daily_cap", d.daily_cap),
    )
    daily = v.get("daily", {})
    practice = v.get("practice", {})
    return Config(
        source=path,
        database=DatabaseConfig(db_path, db.get("busy_timeout_ms", 5000)),
        quiz=QuizConfig(
            questions,
            timedelta(hours=quiz.get("round_ttl_hours", 24)),
            quiz.get("asks_per_minute", 10),
        ),
        scoring=rules,
        discord=DiscordConfig(
            v.get("discord", {}).get("enabled", True), _secret(environ, ENV_DISCORD_TOKEN)
        ),
        telegram=TelegramConfig(
            v.get("telegram", {}).get("enabled", True),
            _secret(environ, ENV_TELEGRAM_TOKEN),
            v.get("telegram", {}).get("api_base_url"),
        ),
        daily=DailyConfig(
            daily.get("time", "09:00"),
            daily.get("timezone", "UTC"),
            timedelta(hours=daily.get("answer_window_hours", 12)),
        ),
        practice=PracticeConfig(
            practice.get("session_size", 5),
            timedelta(minutes=practice.get("timeout_minutes", 30)),
            practice.get("fuzzy_threshold", 88.0),
            practice.get("desired_retention", 0.9),
        ),
        log_level=v.get("logging", {}).get("level", "INFO"),
    )


def _secret(environ: Mapping[str, str], name: str) -> Secret | None:
    value = environ.get(name, "").strip()
    return Secret(value) if value else None
