"""The console's input, line by line: any length and any bytes, from a terminal, a pipe, a
regular file or a text stream. A line that is too long or not UTF-8 becomes a `BadLine` with
a message to show; the session goes on with the next line.

Pipes and terminals are read without blocking the event loop (an asyncio stream); regular
files (`stackprep < answers.txt`), which asyncio cannot watch, are read on a thread. Both
read bytes and decode each line strictly, so both treat bad input the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, AnyStr, Protocol

from bot.adapters.console import texts

log = logging.getLogger(__name__)

LINE_MAX = 64 * 1024  # bytes (characters for a text stream) of one line, without its newline


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that was skipped, and what to tell the person about it."""

    message: str


class Lines(Protocol):
    async def next(self) -> str | BadLine | None:
        """The next line without its line break, a BadLine, or None at the end of input."""
        ...


def decode(raw: bytes) -> str | BadLine:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(texts.not_utf8(raw[exc.start], exc.start))
    return text.rstrip("\r\n").removeprefix("\ufeff")


class StreamLines:
    """Lines from an asyncio stream (a pipe or a terminal)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader  # created with limit=LINE_MAX

    async def next(self) -> str | BadLine | None:
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:  # the end of input, maybe after a last line
            raw = exc.partial
            if not raw:
                return None
        except asyncio.LimitOverrunError as exc:
            await self._skip_line(exc.consumed)
            return BadLine(texts.line_too_long(LINE_MAX))
        except OSError as exc:  # e.g. the terminal went away: the same as the end of input
            log.warning("console: cannot read input: %s", exc)
            return None
        return decode(raw)

    async def _skip_line(self, consumed: int) -> None:
        """Drop the rest of an overlong line, holding at most about LINE_MAX bytes at once."""
        while True:
            await self._reader.readexactly(consumed)  # already buffered
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.IncompleteReadError:
                return
            except asyncio.LimitOverrunError as exc:
                consumed = exc.consumed


class BlockingLines:
    """Lines from a file object that asyncio cannot watch (a regular file, a text stream),
    read on a thread: bytes when it has a binary buffer, else text."""

    def __init__(self, stdin: IO[str]) -> None:
        self._stdin = stdin

    async def next(self) -> str | BadLine | None:
        binary = getattr(self._stdin, "buffer", None)
        try:
            if binary is not None:
                raw = await asyncio.to_thread(_bounded, binary.readline, b"\n")
                return raw if raw is None or isinstance(raw, BadLine) else decode(raw)
            text = await asyncio.to_thread(_bounded, self._stdin.readline, "\n")
        except UnicodeDecodeError as exc:  # a text stream with its own strict decoding
            return BadLine(texts.not_utf8(exc.object[exc.start], exc.start))
        except (OSError, ValueError) as exc:  # closed or unreadable: the end of input
            log.warning("console: cannot read input: %s", exc)
            return None
        if text is None or isinstance(text, BadLine):
            return text
        return text.rstrip("\r\n").removeprefix("\ufeff")


def _bounded(readline: Callable[[int], AnyStr], newline: AnyStr) -> AnyStr | BadLine | None:
    """One line of at most LINE_MAX units; the rest of a longer one is read and dropped."""
    line = readline(LINE_MAX + 1)
    if not line:
        return None
    if len(line) > LINE_MAX and not line.endswith(newline):
        while (rest := readline(LINE_MAX)) and not rest.endswith(newline):
            pass
        return BadLine(texts.line_too_long(LINE_MAX))
    return line


async def open_lines(stdin: IO[str]) -> Lines:
    """Lines from `stdin`: an asyncio stream for pipes and terminals, a thread otherwise."""
    try:
        stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return BlockingLines(stdin)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_MAX)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except (ValueError, OSError):  # a regular file: asyncio cannot watch it
        return BlockingLines(stdin)
    return StreamLines(reader)
