"""The machinery behind bot/config.py: settings declared on dataclasses, checked the same way
from a TOML file and from the environment, with the origin of every value kept.

A setting is a dataclass field declared with `setting(default, check, ...)`. `check` takes a
value as TOML gives it and returns it in the file's units, or raises ValueError saying what
is expected; `to` turns it into the field's value (hours -> timedelta) and `back` the other
way, for `stackprep config show`. An environment variable's text goes through the same
`check`: read as a TOML value first (`5`, `true`, `[10, 20, 30]`, `"quoted"`), and as plain
text when that fails or is refused. Every error is a ConfigError naming the file or the
variable, the key and what is expected; a secret's value is never echoed.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from bot.core.common.errors import ConfigError, QuizError
from bot.core.common.timeparse import parse_time, parse_timezone, zones_of_city

ENV_PREFIX = "STACKPREP_"
ENV_CONFIG = "STACKPREP_CONFIG"
# Variables a platform sets for a service (Kubernetes: a Service named "stackprep" or
# "stackprep-database" gives every pod STACKPREP_SERVICE_HOST, STACKPREP_DATABASE_PORT_5432_TCP
# and the like). They are never settings, so they are ignored without a word.
SERVICE_LINK = re.compile(
    r"STACKPREP_(?:\w+_)?(?:SERVICE_HOST|SERVICE_PORT(?:_\w+)?|PORT(?:_\d+_(?:TCP|UDP|SCTP)\w*)?)"
)

Check = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Setting:
    """How one key is read, checked, converted and shown (see the module's docstring)."""

    check: Check
    key: str = ""  # its name in the file; default: the field's name
    field: str = ""  # the dataclass field it sets (filled in by sections_of)
    to: Callable[[Any], Any] = _same
    back: Callable[[Any], Any] = _same  # given None too when the field can be None; None: unset
    secret: bool = False  # only from the environment; never shown
    path: bool = False  # relative to the file (from the environment: the working directory)
    fallback: Callable[[], Any] | None = None  # the default when it is computed at load time
    env: str = ""  # its variable, when not STACKPREP_<SECTION>_<KEY>
    in_file: Check = _same  # a further check of the file's value only (after `check`)
    quiet: bool = False  # errors never show the value (it may hold a secret: a database URL)


class Conflict(ValueError):
    """Raised by a section's dataclass when its values do not go together, blaming the key
    to change (`key`); load() names where that key's value came from."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(expected)
        self.key = key


def setting(
    default: Any,
    check: Check,
    *,
    key: str = "",
    to: Callable[[Any], Any] = _same,
    back: Callable[[Any], Any] = _same,
    secret: bool = False,
    path: bool = False,
    fallback: Callable[[], Any] | None = None,
    env: str = "",
    in_file: Check = _same,
    quiet: bool = False,
) -> Any:
    """A dataclass field that is a setting; `default` is the field's default."""
    rule = Setting(check, key, "", to, back, secret, path, fallback, env, in_file, quiet)
    return field(default=default, metadata={"setting": rule})


# -- checks: a TOML value -> the value in the file's units, or ValueError(what is expected) ---


def whole(low: int, high: int) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return int(v)

    return check


def number(low: float, high: float) -> Check:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
            raise ValueError(f"a number from {low} to {high}")
        return float(v)

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("a non-empty string")
    return v.strip()


def one_of(*choices: str) -> Check:
    """One of `choices`, in any case."""

    def check(v: Any) -> str:
        if not isinstance(v, str) or v.strip().lower() not in choices:
            raise ValueError("one of " + ", ".join(f'"{c}"' for c in choices))
        return v.strip().lower()

    return check


def path_text(v: Any) -> str:
    value = text(v)
    if not value.isprintable():
        raise ValueError("a path of printable characters")
    return value


def time_of_day(v: Any) -> str:
    """The same parser as `/daily set` and `/remind` (bot/core/common/timeparse.py)."""
    if isinstance(v, time) and not (v.second or v.microsecond or v.tzinfo):
        return f"{v:%H:%M}"  # a TOML local time, 09:00:00
    try:
        return f"{parse_time(text(v)):%H:%M}"
    except (QuizError, ValueError):
        raise ValueError('a time of day as "HH:MM" (24-hour), e.g. "09:00"') from None


def timezone(v: Any) -> str:
    name = text(v)
    try:
        return parse_timezone(name)
    except QuizError:
        cities = zones_of_city(name)
        hint = f"; did you mean {' or '.join(cities[:3])}?" if cities else ""
        raise ValueError(f'an IANA timezone name such as "UTC" or "Europe/Berlin"{hint}') from None


def url(v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"https?://[^\s]+", v.strip()):
        raise ValueError("an http:// or https:// URL")
    return v.strip().rstrip("/")


def log_level(v: Any) -> str:
    levels = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    if not isinstance(v, str) or v.strip().upper() not in levels:
        raise ValueError("one of " + ", ".join(sorted(levels)))
    return v.strip().upper()


# -- conversions between the file's units and the fields' --------------------------------------

HOUR, MINUTE, DAY = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def span_of(unit: timedelta) -> Callable[[float], timedelta]:
    """`to` for a duration written as a number of `unit`s."""
    return lambda amount: amount * unit


def in_units(unit: timedelta) -> Callable[[timedelta], float]:
    """`back` for a duration written as a number of `unit`s."""
    return lambda span: span / unit


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str  # [name] in the file, STACKPREP_<NAME>_<KEY> in the environment
    kind: type[Any]
    settings: tuple[Setting, ...]

    def variable(self, rule: Setting) -> str:
        return rule.env or f"{ENV_PREFIX}{self.name}_{rule.key}".upper()


def sections_of(config: type[Any]) -> tuple[Section, ...]:
    """Every field of `config` whose default is a dataclass is a section, named as the field;
    its settings are the fields declared with `setting()`, or the field's `settings` metadata
    (for a dataclass that lives elsewhere, such as the core's ScoringRules)."""
    found: list[Section] = []
    for f in fields(config):
        kind = f.default_factory
        if kind is MISSING or not (isinstance(kind, type) and is_dataclass(kind)):
            continue
        rules: tuple[Setting, ...] = f.metadata.get("settings") or tuple(
            replace(sf.metadata["setting"], field=sf.name)
            for sf in fields(kind)
            if "setting" in sf.metadata
        )
        rules = tuple(replace(r, key=r.key or r.field) for r in rules)
        found.append(Section(f.name, kind, rules))
    return tuple(found)


# -- loading -------------------------------------------------------------------------------------


_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")


def _brief(value: Any) -> str:
    """The value as an error shows it: short, and a URL's user and password masked."""
    shown = _USERINFO.sub("********@", repr(value))
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _shown(rule: Setting, value: Any) -> str:
    """A value as an error about `rule` may show it."""
    if rule.secret:
        return "(a secret, not shown)"
    if rule.quiet:
        return "(not shown: it may hold a password)"
    return _brief(value)


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]}?" if close else ""


def read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None


def _resolve(value: Any, rule: Setting, base: Path) -> Any:
    """The field's value from a checked one: converted, and a path made absolute."""
    value = rule.to(value)
    if rule.path and isinstance(value, Path):
        try:
            value = value.expanduser()
        except RuntimeError:
            raise ValueError("a path whose ~ names a user with a home directory") from None
        value = value if value.is_absolute() else base / value
    return value


def file_values(
    table: tuple[Section, ...],
    raw: dict[str, Any],
    where: str,
    base: Path,
    old_names: Mapping[str, str],
) -> Iterator[tuple[str, str, Any]]:
    """(section, key, field value) for every key of a file; ConfigError at the first bad one."""
    by_name = {s.name: s for s in table}
    for name, values in raw.items():
        section = by_name.get(old_names.get(name, name))
        if section is None:
            known = ", ".join(f"[{s}]" for s in by_name)
            raise ConfigError(
                f"{where}: unknown section [{name}] (known: {known}){_hint(name, list(by_name))}"
            )
        if name in old_names and section.name in raw:
            raise ConfigError(f"{where}: [{name}] is the old name of [{section.name}]; keep one")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        rules = {r.key: r for r in section.settings}
        for key, value in values.items():
            rule = rules.get(key)
            if rule is None:
                raise ConfigError(
                    f"{where}: [{name}] unknown key {key!r} (known: {', '.join(rules)})"
                    f"{_hint(key, list(rules))}"
                )
            if rule.secret:
                raise ConfigError(
                    f"{where}: [{name}] {key}: secrets such as tokens are read only from the "
                    f"environment ({section.variable(rule)}); remove it from the file"
                )
            try:
                yield section.name, key, _resolve(rule.in_file(rule.check(value)), rule, base)
            except ValueError as exc:
                raise ConfigError(
                    f"{where}: [{name}] {key} = {_shown(rule, value)}: expected {exc}"
                ) from None


def _toml_value(line: str) -> Any:
    if "\n" in line or "\r" in line:
        raise ValueError("one line")
    try:
        document = tomllib.loads(f"v = {line}")
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if list(document) != ["v"]:
        raise ValueError("one value")
    return document["v"]


def env_checked(rule: Setting, raw: str) -> Any:
    """The file's check, on the variable's text read as a TOML value, or as plain text when
    that fails or is refused (so a path "2024" or a name "true" is still a string)."""
    plain = raw.strip()
    if rule.secret:
        return rule.check(plain)
    try:
        typed = _toml_value(plain)
    except ValueError:
        return rule.check(plain)
    try:
        return rule.check(typed)
    except ValueError:
        if isinstance(typed, str):
            raise
        return rule.check(plain)


def _unknown_variable(
    name: str, table: tuple[Section, ...], known: Mapping[str, object]
) -> str | None:
    """What is wrong with a STACKPREP_* variable that is no setting: None for a platform's
    service variable, a warning for others; a ConfigError when it is surely a mistake (a
    known section with an unknown key, or a setting's name in the wrong case)."""
    if name.upper() in known:
        raise ConfigError(f"{name}: environment variable names are upper case: {name.upper()}")
    if SERVICE_LINK.fullmatch(name):
        return None
    suffixes = {k.removeprefix(ENV_PREFIX): k for k in [*known, ENV_CONFIG]}
    close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), list(suffixes), n=1)
    hint = f"; did you mean {suffixes[close[0]]}?" if close else ""
    for section in sorted(table, key=lambda s: -len(s.name)):
        prefix = f"{ENV_PREFIX}{section.name.upper()}_"
        if name.startswith(prefix):
            key = name.removeprefix(prefix).lower()
            names = ", ".join(section.variable(r) for r in section.settings)
            raise ConfigError(
                f"{name}: [{section.name}] has no key {key!r} (its variables: {names}){hint}"
            )
    return f"{name} is not a Stackprep setting and is ignored{hint}"


def env_values(
    table: tuple[Section, ...],
    environ: Mapping[str, str],
    aliases: Mapping[str, tuple[str, str]],
    notes: list[str],
) -> Iterator[tuple[str, str, Any, str]]:
    """(section, key, field value, variable) for every STACKPREP_<SECTION>_<KEY> in
    `environ`, or an older name (alias) of one when it is not set; an empty variable counts
    as unset. Warnings go to `notes`."""
    known = {s.variable(r): (s, r) for s in table for r in s.settings}
    for alias, (section_name, key) in aliases.items():
        section, rule = next(
            (s, r) for s in table for r in s.settings if (s.name, r.key) == (section_name, key)
        )
        known[alias] = (section, rule)
        current = section.variable(rule)
        if environ.get(alias, "").strip() and environ.get(current, "").strip():
            environ = {k: v for k, v in environ.items() if k != alias}  # the new name wins
            notes.append(f"{alias} is ignored: {current}, its newer name, is set")
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG:
            continue
        if name not in known:
            note = _unknown_variable(name, table, known)
            if note:
                notes.append(note)
            continue
        raw = environ[name]
        if not raw.strip():
            continue
        section, rule = known[name]
        try:
            value = _resolve(env_checked(rule, raw), rule, Path.cwd())
        except ValueError as exc:
            shown = _shown(rule, raw)
            raise ConfigError(f"{name}={shown}: expected {exc}") from None
        yield section.name, rule.key, value, name


def _conflict(
    section: Section,
    exc: Conflict,
    chosen: Mapping[tuple[str, str], tuple[Any, str]],
    path: Path | None,
    environ: Mapping[str, str],
) -> str:
    """A Conflict's message, naming the blamed key as its own bad value would be named."""
    rule = next(r for r in section.settings if r.key == exc.key)
    value, origin = chosen.get((section.name, rule.key), (None, "default"))
    if origin.startswith("environment ("):
        variable = origin.removeprefix("environment (").removesuffix(")")
        shown = _shown(rule, environ.get(variable, ""))
        return f"{variable}={shown}: expected {exc}"
    if origin == "file" and not rule.secret:
        shown = _shown(rule, rule.back(value))
        return f"{path}: [{section.name}] {rule.key} = {shown}: expected {exc}"
    return f"[{section.name}] {rule.key}: expected {exc}"


def load(
    config: type[Any],
    path: Path | None,
    environ: Mapping[str, str],
    *,
    aliases: Mapping[str, tuple[str, str]] = {},
    old_names: Mapping[str, str] = {},
) -> Any:
    """`config` built from its defaults, then the file at `path` (if any), then the
    environment, which wins. The result's `origins` say where each value came from, by
    "section.key": "default", "file" or "environment (VARIABLE)"; its `notes` are warnings."""
    table = sections_of(config)
    raw = read_toml(path) if path is not None else {}
    base = path.absolute().parent if path is not None else Path.cwd()
    notes = [f"{path}: [{a}] is now called [{b}]" for a, b in old_names.items() if a in raw]
    chosen: dict[tuple[str, str], tuple[Any, str]] = {}
    for name, key, value in file_values(table, raw, str(path), base, old_names):
        chosen[name, key] = (value, "file")
    for name, key, value, variable in env_values(table, environ, aliases, notes):
        chosen[name, key] = (value, f"environment ({variable})")
    built: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for section in table:
        values: dict[str, Any] = {}
        for rule in section.settings:
            value, origin = chosen.get((section.name, rule.key), (MISSING, "default"))
            if value is MISSING and rule.fallback is not None:
                value = rule.fallback()
            elif value is MISSING and rule.path:
                value = _resolve(getattr(section.kind(), rule.field), rule, base)
            if value is not MISSING:
                values[rule.field] = value
            origins[f"{section.name}.{rule.key}"] = origin
        try:
            built[section.name] = section.kind(**values)
        except Conflict as exc:
            raise ConfigError(_conflict(section, exc, chosen, path, environ)) from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[{section.name}]: {exc}") from None
    return config(source=path, origins=origins, notes=tuple(notes), **built)
