"""Configuration: a TOML file plus the environment -> frozen dataclasses.

Nothing is read at import time. Each section is a dataclass below and each of its settings a
field declared with `setting(default, check, ...)` (bot/settings.py holds that machinery and
the usual checks). The file, the environment (`STACKPREP_<SECTION>_<KEY>`, typed and checked
exactly like the file) and `stackprep config show` are all driven by that one table, so a new
key is one field (and its lines in config.example.toml, which a test requires):

    durability: str = setting("normal", one_of("normal", "full"))

and a new section is one dataclass plus one field of `Config` named as the section. A bad
file, value or variable raises ConfigError naming the file or the variable, the key and what
is expected. Secrets (`secret=True`: the platform tokens) come only from the environment, are
wrapped in `Secret` (whose repr and str never show the value), are never echoed in an error
and are masked by `config show`; `Config.secret_values()` hands them to the log's redaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.common.address import parse_listen
from bot.core.common.dburl import database_url, no_password
from bot.core.common.secret import Secret, shown_url
from bot.core.quiz import ScoringRules
from bot.settings import (
    DAY,
    ENV_CONFIG,
    HOUR,
    MINUTE,
    Conflict,
    Section,
    Setting,
    boolean,
    in_units,
    load,
    log_level,
    number,
    one_of,
    path_text,
    sections_of,
    setting,
    span_of,
    text,
    time_of_day,
    timezone,
    url,
    whole,
)

__all__ = ["ENV_CONFIG", "Config", "Secret", "load_config", "sections", "shipped_questions"]

ENV_DISCORD_TOKEN = "STACKPREP_DISCORD_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_TELEGRAM_TOKEN = "STACKPREP_TELEGRAM_TOKEN"  # noqa: S105
ENV_TELEGRAM_WEBHOOK_SECRET = "STACKPREP_TELEGRAM_WEBHOOK_SECRET"  # noqa: S105
ENV_DATABASE = "STACKPREP_DATABASE"  # the older name of STACKPREP_DATABASE_PATH, still read
ENV_LLM_API_KEY = "STACKPREP_LLM_API_KEY"  # the model grader's key ([grading])


def shipped_questions() -> Path:
    """The question bank Stackprep ships: package data in an installed wheel (the build copies
    the repository's top-level questions/ into bot/questions), else the checkout's questions/."""
    packaged = resources.files("bot") / "questions"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "questions"


def _questions_dir() -> Path:
    """The default bank: ./questions if there is one, else the shipped one."""
    local = Path.cwd() / "questions"
    return local if local.is_dir() else shipped_questions()


def _base_points(v: Any) -> tuple[int, int, int]:
    if (
        not isinstance(v, list)
        or len(v) != 3
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1000 for x in v)
    ):
        raise ValueError("a list of three whole numbers (junior, mid, senior), e.g. [10, 20, 30]")
    return (v[0], v[1], v[2])


def _show_listen(v: tuple[str, int] | None) -> str | None:
    if v is None:
        return None
    host, port = v
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_SPAN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _every(v: Any) -> str:
    """How often to back up: "off" (or false), or a whole number and a unit, e.g. "24h",
    "30m", "7d"; from one minute to a year. Returned as the file would say it."""
    expected = '"off" or a whole number and a unit (s, m, h, d), e.g. "24h", from 1m to 366d'
    if v is False:
        return "off"
    if not isinstance(v, str):
        raise ValueError(expected)
    word = v.strip().lower()
    if word in {"off", "never", "none", "0"}:
        return "off"
    number_, unit = word[:-1].strip(), word[-1:]
    if unit not in _SPAN_UNITS or not (number_.isascii() and number_.isdigit()):
        raise ValueError(expected)
    if len(number_) > 9 or not 60 <= int(number_) * _SPAN_UNITS[unit] <= 366 * 86400:
        raise ValueError(expected)
    return f"{int(number_)}{unit}"


def _every_span(v: str) -> timedelta | None:
    if v == "off":
        return None
    return timedelta(seconds=int(v[:-1]) * _SPAN_UNITS[v[-1]])


def _every_text(v: timedelta | None) -> str:
    if v is None:
        return "off"
    seconds = int(v.total_seconds())
    for unit in "dhm":
        if seconds % _SPAN_UNITS[unit] == 0:
            return f"{seconds // _SPAN_UNITS[unit]}{unit}"
    return f"{seconds}s"


def _shown_url(v: Secret | None) -> str | None:
    return None if v is None else shown_url(v.reveal())


@dataclass(frozen=True)
class DatabaseConfig:
    path: Path = setting(Path("data/stackprep.db"), path_text, to=Path, back=str, path=True)
    # PostgreSQL instead of SQLite (several processes, one database); the whole URL is kept
    # as a Secret, since the environment's may carry the password
    url: Secret | None = setting(
        None, database_url, to=Secret, back=_shown_url, in_file=no_password, quiet=True
    )
    busy_timeout_ms: int = setting(5000, whole(0, 600_000))
    # PRAGMA synchronous: "normal" (a process crash loses nothing; a power loss or OS crash
    # may lose the last commits) or "full" (every commit synced to disk)
    durability: str = setting("normal", one_of("normal", "full"))
    # online backups into backups/ beside the database while a platform is served; None: off
    backup_every: timedelta | None = setting(24 * HOUR, _every, to=_every_span, back=_every_text)
    backup_keep: int = setting(7, whole(1, 1000))


@dataclass(frozen=True)
class QuizConfig:
    questions_dir: Path = setting(
        Path("questions"), path_text, to=Path, back=str, path=True, fallback=_questions_dir
    )
    round_ttl: timedelta = setting(
        24 * HOUR, number(0.01, 24 * 30), key="round_ttl_hours",
        to=span_of(HOUR), back=in_units(HOUR),
    )  # fmt: skip
    asks_per_minute: int = setting(10, whole(1, 1000))


MAX_SHARDS = 100_000  # far beyond the shard count of the biggest bots
_SHARD_SPAN = re.compile(r"\s*([0-9]{1,6})\s*(?:-\s*([0-9]{1,6})\s*)?")


def shard_ids(v: Any) -> tuple[int, ...]:
    """[discord] shard_ids: the shards this process serves, a list ([0, 1]), one id, or a
    text of ids and ranges ("0-3, 8", the handy form in STACKPREP_DISCORD_SHARD_IDS); each id
    once, from 0. Returned sorted."""
    expected = 'a list of shard ids such as [0, 1], or a text of ids and ranges such as "0-3, 8"'
    items: list[int] = []
    if isinstance(v, int) and not isinstance(v, bool):
        items = [v]
    elif isinstance(v, list) and v and all(type(i) is int for i in v):
        items = v
    elif isinstance(v, str):
        for part in v.split(","):
            found = _SHARD_SPAN.fullmatch(part)
            if found is None:
                raise ValueError(expected)
            first, last = int(found[1]), int(found[2] or found[1])
            if last < first:
                raise ValueError(f"a range from the lower id to the higher, not {first}-{last}")
            if last >= MAX_SHARDS:
                raise ValueError(f"shard ids from 0 to {MAX_SHARDS - 1}, not {last}")
            items.extend(range(first, last + 1))
    else:
        raise ValueError(expected)
    seen: set[int] = set()
    for i in items:
        if not 0 <= i < MAX_SHARDS:
            raise ValueError(f"shard ids from 0 to {MAX_SHARDS - 1}, not {i}")
        if i in seen:
            raise ValueError(f"each shard id once ({i} is listed twice)")
        seen.add(i)
    return tuple(sorted(items))


@dataclass(frozen=True)
class DiscordConfig:
    enabled: bool = setting(True, boolean)
    token: Secret | None = setting(None, text, to=Secret, secret=True)
    # the bot's total number of shards; None: as many as Discord recommends, all served here
    shard_count: int | None = setting(None, whole(1, MAX_SHARDS))
    # the shards of shard_count this process serves; None: all of them
    shard_ids: tuple[int, ...] | None = setting(
        None, shard_ids, back=lambda v: None if v is None else list(v)
    )

    def __post_init__(self) -> None:
        if self.shard_ids is None:
            return
        if self.shard_count is None:
            raise Conflict(
                "shard_ids",
                "shard_ids only together with shard_count, the bot's total number of shards "
                "(e.g. shard_count = 4 and shard_ids = [0, 1])",
            )
        beyond = [str(i) for i in self.shard_ids if i >= self.shard_count]
        if beyond:
            raise Conflict(
                "shard_ids",
                f"shard ids from 0 to {self.shard_count - 1} (below shard_count = "
                f"{self.shard_count}), not {', '.join(beyond[:5])}",
            )


def bot_api_url(v: Any) -> str:
    """[telegram] api_base_url: the Bot API's address up to `/bot`, which the token follows
    (`.../bot123:ABC/getMe`); without it the token lands in the host or port and the start
    fails with a misleading "Invalid port". Telegram's test environment's form,
    `.../bot{token}/test`, is taken too."""
    try:
        value = url(v)
    except ValueError:
        value = ""
    templated = value.count("{") == value.count("}") == 1 and "/bot{token}" in value
    if not (value.endswith("/bot") or templated):
        raise ValueError(
            "an http:// or https:// URL ending in /bot, where the token goes after it, "
            "e.g. https://api.telegram.org/bot or http://127.0.0.1:8081/bot"
        )
    return value


WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram posts webhook updates to


def webhook_url(v: Any) -> str:
    """[telegram] public_url: the https:// URL Telegram posts updates to (a reverse proxy's,
    which passes them on to `listen`); its path is the one the listener serves."""
    expected = (
        "an https:// URL on port 443, 80, 88 or 8443 (the ports Telegram calls), e.g. "
        '"https://bot.example.com/telegram"'
    )
    try:
        value = url(v)
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(expected) from None
    if parts.scheme != "https" or not parts.hostname or port not in (None, *WEBHOOK_PORTS):
        raise ValueError(expected)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(f"{expected}, without a user or password")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"{expected}, without ? or # (the secret token is its own setting)")
    if not re.fullmatch(r"[A-Za-z0-9/_.~-]*", parts.path):
        raise ValueError(f"{expected}, its path of letters, digits and / _ . ~ -")
    return value


def webhook_secret(v: Any) -> str:
    """The secret Telegram sends with every webhook request (the Bot API's rule for
    secret_token). Never echoed: the message says only what is expected."""
    if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v):
        raise ValueError("1 to 256 characters, each a letter A-Z or a-z, a digit, _ or -")
    return v


@dataclass(frozen=True)
class TelegramConfig:
    enabled: bool = setting(True, boolean)
    token: Secret | None = setting(None, text, to=Secret, secret=True)
    api_base_url: str | None = setting(None, bot_api_url)
    # how updates arrive: "polling" (getUpdates) or "webhook" (Telegram posts them to
    # public_url, which a reverse proxy passes on to listen; bot/adapters/telegram/webhook.py)
    mode: str = setting("polling", one_of("polling", "webhook"))
    listen: tuple[str, int] | None = setting(None, parse_listen, back=_show_listen)
    public_url: str | None = setting(None, webhook_url)
    webhook_secret: Secret | None = setting(None, webhook_secret, to=Secret, secret=True)
    delete_webhook_at_stop: bool = setting(False, boolean)

    def __post_init__(self) -> None:
        if self.mode != "webhook":
            return
        missing = [
            name
            for name, value in (
                ("listen", self.listen), ("public_url", self.public_url),
                (ENV_TELEGRAM_WEBHOOK_SECRET, self.webhook_secret),
            )
            if value is None
        ]  # fmt: skip
        if missing:
            raise Conflict(
                "mode",
                f'"polling", or "webhook" with listen, public_url and '
                f"{ENV_TELEGRAM_WEBHOOK_SECRET} set (missing: {', '.join(missing)})",
            )


@dataclass(frozen=True)
class DailyConfig:
    time: str = setting("09:00", time_of_day)
    timezone: str = setting("UTC", timezone)
    answer_window: timedelta = setting(
        12 * HOUR, number(0.1, 24), key="answer_window_hours",
        to=span_of(HOUR), back=in_units(HOUR),
    )  # fmt: skip


@dataclass(frozen=True)
class PracticeConfig:
    session_size: int = setting(5, whole(1, 50))
    timeout: timedelta = setting(
        30 * MINUTE, whole(1, 24 * 60), key="timeout_minutes",
        to=span_of(MINUTE), back=in_units(MINUTE),
    )  # fmt: skip
    fuzzy_threshold: float = setting(88.0, number(50, 100))
    desired_retention: float = setting(0.9, number(0.7, 0.99))


def endpoint_url(v: Any) -> str:
    """[grading] base_url: an OpenAI-compatible API's base, e.g. "http://127.0.0.1:11434/v1"
    (Ollama) or "https://api.openai.com/v1"; /chat/completions is added to it."""
    expected = (
        'an http:// or https:// URL of an OpenAI-compatible API, e.g. "http://127.0.0.1:11434/v1"'
    )
    try:
        value = url(v)
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError(expected) from None
    if not parts.hostname:
        raise ValueError(expected)
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{expected}, without a user or password (the key: {ENV_LLM_API_KEY})")
    if parts.query or parts.fragment:
        raise ValueError(f"{expected}, without ? or #")
    return value


def model_name(v: Any) -> str:
    value = text(v)
    if len(value) > 200 or not value.isprintable():
        raise ValueError("a model name of at most 200 printable characters")
    return value


def api_key(v: Any) -> str:
    """Never echoed: the message says only what is expected."""
    if not isinstance(v, str) or not 0 < len(v.strip()) <= 4096:
        raise ValueError("a non-empty key of at most 4096 characters")
    value = v.strip()
    if not (value.isascii() and value.isprintable()) or any(c.isspace() for c in value):
        raise ValueError("a key of printable ASCII characters without spaces")
    return value


@dataclass(frozen=True)
class GradingConfig:
    # who grades answers in your own words: "keywords" (bot/core/practice/grading.py) or
    # "llm" (a model behind an OpenAI-compatible API, keywords as the fallback)
    backend: str = setting("keywords", one_of("keywords", "llm"))
    base_url: str | None = setting(None, endpoint_url)
    model: str | None = setting(None, model_name)
    api_key: Secret | None = setting(None, api_key, to=Secret, secret=True, env=ENV_LLM_API_KEY)
    timeout_seconds: float = setting(8.0, number(0.1, 120))
    daily_limit: int = setting(50, whole(0, 100_000))  # model calls per person per UTC day
    cache_size: int = setting(1000, whole(0, 1_000_000))  # verdicts kept (LRU)

    def __post_init__(self) -> None:
        if self.backend != "llm":
            return
        missing = [
            name
            for name, value in (
                ("base_url", self.base_url), ("model", self.model),
                (ENV_LLM_API_KEY, self.api_key),
            )
            if value is None
        ]  # fmt: skip
        if missing:
            raise Conflict(
                "backend",
                f'"keywords", or "llm" with base_url, model and {ENV_LLM_API_KEY} set '
                f"(missing: {', '.join(missing)})",
            )


@dataclass(frozen=True)
class OpsConfig:
    # (host, port) of /healthz and /metrics; None: off
    listen: tuple[str, int] | None = setting(None, parse_listen, back=_show_listen)


@dataclass(frozen=True)
class LogConfig:
    level: str = setting("INFO", log_level)
    format: str = setting("text", one_of("text", "json"))


# [scoring] fills the core's ScoringRules, whose fields are named for the core: this table
# maps the file's keys onto them.
SCORING = (
    Setting(_base_points, "base_points", "base_points"),
    Setting(
        whole(0, 500), "speed_bonus_percent", "speed_bonus_fraction",
        to=lambda percent: percent / 100, back=lambda fraction: round(fraction * 100),
    ),
    Setting(
        whole(1, 24 * 60), "speed_window_minutes", "speed_window",
        to=span_of(MINUTE), back=in_units(MINUTE),
    ),
    Setting(whole(0, 100), "streak_bonus_step", "streak_step"),
    Setting(whole(0, 1000), "streak_bonus_cap", "streak_cap"),
    Setting(
        whole(0, 365), "repeat_window_days", "repeat_window", to=span_of(DAY), back=in_units(DAY)
    ),
    Setting(whole(0, 100_000), "daily_cap", "daily_cap"),
)  # fmt: skip


@dataclass(frozen=True)
class Config:
    source: Path | None = None
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    quiz: QuizConfig = field(default_factory=QuizConfig)
    scoring: ScoringRules = field(default_factory=ScoringRules, metadata={"settings": SCORING})
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    daily: DailyConfig = field(default_factory=DailyConfig)
    practice: PracticeConfig = field(default_factory=PracticeConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    # where each value came from, by "section.key": "default", "file" or "environment (VAR)"
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # warnings for the log

    @property
    def discord_active(self) -> bool:
        return self.discord.enabled and self.discord.token is not None

    @property
    def telegram_active(self) -> bool:
        return self.telegram.enabled and self.telegram.token is not None

    @property
    def log_level(self) -> str:
        return self.log.level

    def secret_values(self) -> list[str]:
        """Every secret that is set (tokens, and any later secret setting), for redaction."""
        found = (getattr(getattr(self, s.name), r.field) for s in sections() for r in s.settings)
        return [v.reveal() for v in found if isinstance(v, Secret)]


@cache
def sections() -> tuple[Section, ...]:
    """Every section of Config and its settings, in the order of the dataclasses above."""
    return sections_of(Config)


def load_config(path: Path | None, environ: Mapping[str, str]) -> Config:
    """Build the Config from the defaults, then an optional file (explicit path, else
    STACKPREP_CONFIG), then STACKPREP_<SECTION>_<KEY> variables, which win."""
    if path is None and environ.get(ENV_CONFIG):
        path = Path(environ[ENV_CONFIG])
    config: Config = load(
        Config,
        path,
        environ,
        aliases={ENV_DATABASE: ("database", "path")},
        old_names={"logging": "log"},  # the file's [logging] of 0.1 is read as [log]
    )
    return config
