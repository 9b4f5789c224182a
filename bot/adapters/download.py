"""Downloading a file a member sent the bot (a Discord attachment, a Telegram document) with a
hard limit on what is read.

The platforms say how large a file is before it is downloaded (`Attachment.size`,
`Document.file_size`), and the adapters refuse a file over the limit on that word alone. The
download is capped as well, whatever the platform said: `fetch` reads at most `limit + 1`
bytes (enough to know there are more) and stops, so a size that was wrong, left out or a lie
never makes the bot hold more than the limit. A Telegram file URL carries the bot token, so
no error raised here ever contains the URL. `fetch_file` is what the adapters call: its
failures are QuizErrors in the member's words.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp

from bot.core.common.errors import QuizError

log = logging.getLogger(__name__)

CHUNK = 64 * 1024  # bytes read at a time
TIMEOUT = 30.0  # seconds for a whole download (connect, headers, body)
MB = 1024 * 1024


class TooLarge(Exception):
    """The file holds more than the limit (read up to the limit, then stopped)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"over {limit} bytes")
        self.limit = limit


class DownloadFailed(Exception):
    """The file could not be fetched; the message says why, without the URL."""


async def fetch(url: str, *, limit: int, seconds: float = TIMEOUT) -> bytes:
    """The body of a GET of `url`, at most `limit` bytes: TooLarge as soon as its
    Content-Length or the bytes read say more, DownloadFailed for an answer other than 200,
    a timeout (`seconds` for the whole download) or a connection that failed."""
    session_timeout = aiohttp.ClientTimeout(total=seconds)
    try:
        async with (
            aiohttp.ClientSession(timeout=session_timeout) as session,
            session.get(url) as response,
        ):
            if response.status != 200:
                raise DownloadFailed(f"the file server answered {response.status}")
            if response.content_length is not None and response.content_length > limit:
                raise TooLarge(limit)
            body = bytearray()
            while chunk := await response.content.read(min(CHUNK, limit + 1 - len(body))):
                body += chunk
                if len(body) > limit:
                    raise TooLarge(limit)  # leaving the session drops the connection
            return bytes(body)
    except TimeoutError:
        raise DownloadFailed(f"it took longer than {seconds:g} s") from None
    except aiohttp.ClientError as exc:
        # the exception's text may hold the URL (and in it, Telegram's bot token): its type only
        raise DownloadFailed(f"the connection failed ({type(exc).__name__})") from None


def read_local(path: str, *, limit: int) -> bytes:
    """A file on this machine (a local Bot API server hands out paths), at most `limit`
    bytes: TooLarge beyond, DownloadFailed when it cannot be read."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise DownloadFailed(f"the file could not be read ({type(exc).__name__})") from None
    if len(data) > limit:
        raise TooLarge(limit)
    return data


async def fetch_file(location: str, *, filename: str, limit: int) -> bytes:
    """A member's file from its URL (or, from a local Bot API server, its path on this
    machine), at most `limit` bytes; QuizError saying what went wrong otherwise."""
    try:
        if location.startswith(("http://", "https://")):
            return await fetch(location, limit=limit)
        return await asyncio.to_thread(read_local, location, limit=limit)
    except TooLarge:
        raise QuizError(too_large(filename, limit)) from None
    except DownloadFailed as exc:
        log.warning("could not download a member's file %r: %s", filename[:80], exc)
        raise QuizError(not_downloaded(filename, str(exc))) from None


def too_large(filename: str, limit: int) -> str:
    return (
        f"{filename}: the file is larger than {limit / MB:g} MB, the limit. Split it into "
        "smaller topics."
    )


def not_downloaded(filename: str, reason: str) -> str:
    return (
        f"I couldn't download {filename} ({reason}). Nothing was imported; try again in a minute."
    )
