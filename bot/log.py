"""Logging: one handler on stderr, as text or as JSON lines ([log] format), with the ids of the
update or interaction being handled and with every secret masked.

Context. An adapter calls `log_context(platform=..., chat_id=..., user_id=..., update_id=...)`
at the start of each update or interaction; each runs in an asyncio task of its own, so the
ids (a ContextVar) follow that work, and the tasks it starts, and nothing else.
`ContextFilter` puts them on every record: fields of their own in JSON, `[platform=telegram
chat_id=...]` after the message in text.

Secrets. `Redactor` masks each secret however it shows up: in any letter case (Telegram's
errors capitalise, a logged path can be lower-cased) and percent-encoded in whole or in part
(quote, quote_plus, upper or lower hex); for a URL with a password (a database URL), the
password alone too. `RedactingFilter` applies it to the message and its arguments, the
traceback, the stack and any extra string field, before either format sees the record.

Either format writes a lone surrogate (what a person sent can carry one) as `\\udXXX`, as
Python's stderr would: a stream that encodes strictly gets the line too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from pythonjsonlogger.json import JsonFormatter

MASK = "********"
CONTEXT_FIELDS = (
    "platform", "guild_id", "chat_id", "channel_id", "user_id", "interaction_id", "update_id",
)  # fmt: skip
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
Ids = dict[str, str | int]

_context: ContextVar[Ids] = ContextVar("stackprep_log_context")


def log_context(
    *,
    platform: str,
    guild_id: str | int | None = None,
    chat_id: str | int | None = None,
    channel_id: str | int | None = None,
    user_id: str | int | None = None,
    interaction_id: str | int | None = None,
    update_id: str | int | None = None,
) -> Token[Ids]:
    """Tag every log line of the current task (and of the tasks it starts) with these ids,
    replacing any set before; the token undoes it (`_context.reset`)."""
    ids = {
        "platform": platform, "guild_id": guild_id, "chat_id": chat_id,
        "channel_id": channel_id, "user_id": user_id, "interaction_id": interaction_id,
        "update_id": update_id,
    }  # fmt: skip
    return _context.set({k: v for k, v in ids.items() if v is not None})


@contextmanager
def logged_as(**ids: Any) -> Iterator[None]:
    """`log_context(**ids)` for a block only."""
    token = log_context(**ids)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Ids:
    return dict(_context.get({}))


class ContextFilter(logging.Filter):
    """Puts the ids of the current update or interaction on each record (an id passed in
    `extra=` is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get({}).items():
            record.__dict__.setdefault(name, value)
        return True


def _variants(secret: str) -> Iterator[str]:
    yield secret
    if "://" in secret:  # a URL: its password shows up alone in drivers' messages
        try:
            password = urlsplit(secret).password
        except ValueError:
            password = None
        if password:
            yield unquote(password)
            yield password


def _fold(text: str) -> str:
    """Case-insensitive form: upper then lower, so 'ß'/'SS' and 'ı'/'I' fold alike."""
    return text.upper().lower()


def _spelled(secret: str) -> str:
    """A pattern for `secret` with each character in either case (as `str.upper` and
    `str.lower` have it, even when that is two letters: 'ß', 'ﬀ'), as itself or
    percent-encoded (any hex case under IGNORECASE), and a space also as '+'."""
    parts = []
    for char in secret:
        options = {r"\+"} if char == " " else set()
        for form in {char, char.upper(), char.lower()}:
            encoded = "".join(f"%{b:02X}" for b in form.encode("utf-8", "surrogatepass"))
            options |= {re.escape(form), re.escape(encoded)}
        parts.append(f"(?:{'|'.join(sorted(options, key=len, reverse=True))})")
    return "".join(parts)


class Redactor:
    """Masks every secret in a text, in any case and percent-encoded (see the module's doc)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        terms = sorted({v for s in secrets if s for v in _variants(s) if v}, key=len, reverse=True)
        self._folded = [_fold(t) for t in terms]
        self._pattern = (
            re.compile("|".join(_spelled(t) for t in terms), re.IGNORECASE) if terms else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not self._may_hold(text):
            return text
        return self._pattern.sub(MASK, text)

    def _may_hold(self, text: str) -> bool:
        """A quick test that no secret is there in any spelling (the pattern is slow: every
        character an alternation), true whenever the pattern would match."""
        seen = {_fold(text)}
        if "%" in text or "+" in text:
            seen |= {_fold(unquote(text)), _fold(unquote_plus(text))}
        return any(term in form for term in self._folded for form in seen)


_SURROGATES = re.compile("[\ud800-\udfff]")


def _escaped(line: str) -> str:
    """Lone surrogates (a JSON escape in what a person sent carries one) as `\\udXXX`: what
    Python's stderr writes for one, and in a JSON line the escape that means it; so the line
    reaches a stream that encodes strictly too."""
    if line.isascii():
        return line
    return _SURROGATES.sub(lambda found: f"\\u{ord(found[0]):04x}", line)


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class RedactingFilter(logging.Filter):
    """Masks any configured secret that still slips into a record: in the message and its
    arguments, the traceback, the stack and every extra string field."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._redact:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, masked
            message = f"{record.msg!r} % {record.args!r}"
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for name, value in record.__dict__.items():
            if name not in _STANDARD and isinstance(value, str):
                record.__dict__[name] = self._redact(value)
        return True


class TextFormatter(logging.Formatter):
    """One line per event; the context's ids in brackets after the message, before any
    traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return _escaped(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        ids = " ".join(
            f"{name}={record.__dict__[name]}" for name in CONTEXT_FIELDS if name in record.__dict__
        )
        return f"{line} [{ids}]" if ids else line


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, then the
    context's ids and any extra fields, and `exc_info` with the traceback."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {"time": log_data.pop("time"), **log_data}

    def format(self, record: logging.LogRecord) -> str:
        return _escaped(super().format(record))


def setup_logging(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Log to stderr as `fmt` ("text" or "json"), masking `secrets` (every Secret of the
    config: tokens, a database URL's password)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "discord.http", "discord.gateway"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
