"""Staying connected to Discord: a login that waits for an unreachable Discord, the gateway
session discord.py keeps alive, the time limit on every REST call, and the errors that end
the process.

What is retried and what is fatal:

- **Transient** (connection refused or reset, DNS, no answer in time, a 5xx, a 429 at login):
  retried with backoff (1 s doubling up to 60 s, with jitter), for as long as it takes, one
  warning per attempt: the login here, each shard's first connection in `shards`. Once a
  shard is connected, discord.py reconnects and resumes it by itself; it is left to do so
  (`connect(reconnect=True)`).
- **Fatal** (AdapterError, one line, exit code 1, so a supervisor restarts or alerts): a token
  Discord rejects (401 at login, gateway close code 4004) and the close codes discord.py will
  not reconnect after (4010-4014), on any shard. A token revoked while the bot runs ends in
  4004 when a shard's gateway connects again.

discord.py has no request timeout: its session keeps aiohttp's default of 300 s per request.
`limit_rest_calls` sets ours on that session, which every REST call uses (messages, interaction
responses, follow-ups); discord.py's own retries of a 5xx and its rate-limit waits are not cut.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import discord
from discord.utils import MISSING

from bot.adapters.base import AdapterError
from bot.core.common.secret import Secret

log = logging.getLogger(__name__)

REST_TIMEOUT = 30.0  # seconds for one REST request (Discord answers in well under a second)
CONNECT_TIMEOUT = 10.0  # seconds to open a connection to Discord's API
LOGIN_TIMEOUT = 60.0  # the whole login (two requests, and discord.py's own retries of a 5xx)
FIRST_RETRY = 1.0
LAST_RETRY = 60.0

REJECTED = (
    "Discord rejected the bot token in STACKPREP_DISCORD_TOKEN ({why}): copy it again from "
    "the Developer Portal, Bot page, Reset Token"
)
FATAL_CLOSES = {
    4004: REJECTED.format(why="gateway close code 4004, authentication failed"),
    4010: (
        "Discord refused the gateway session (close code 4010, invalid shard): check "
        "[discord] shard_count and shard_ids"
    ),
    4011: (
        "Discord requires more shards for this bot (gateway close code 4011, sharding "
        "required): it is in too many servers for its shards; leave [discord] shard_count "
        "unset for Discord's recommendation, or raise it"
    ),
    4012: (
        "Discord refused the gateway session (close code 4012, invalid API version): "
        "upgrade Stackprep"
    ),
    4013: "Discord refused the gateway session (close code 4013, invalid intents)",
    4014: (
        "Discord refused the gateway session (close code 4014, disallowed intents): the "
        "application is not allowed the intents it asked for"
    ),
}


def closed_for_good(code: int) -> AdapterError:
    """The fatal error for a gateway close discord.py does not reconnect after."""
    default = f"Discord closed the gateway connection for good (close code {code})"
    return AdapterError(FATAL_CLOSES.get(code, default))


def backoff(first: float = FIRST_RETRY, last: float = LAST_RETRY) -> Iterator[float]:
    """Delays before each retry: doubling from `first` up to `last`, each within +-20%."""
    delay = first
    while True:
        yield delay * random.uniform(0.8, 1.2)
        delay = min(last, delay * 2)


def rest_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """The limit for one REST request: `seconds` in all, the connection within 10 s."""
    return aiohttp.ClientTimeout(total=seconds, sock_connect=min(CONNECT_TIMEOUT, seconds))


def limit_rest_calls(client: discord.Client, timeout: aiohttp.ClientTimeout) -> bool:
    """Put `timeout` on the HTTP session discord.py made at login (every REST request, including
    interaction responses, goes through it). discord.py offers no option for this; the session
    is the one its own Interaction reads. False (and a warning) if a new version moved it."""
    session = getattr(client.http, "_HTTPClient__session", None)
    if isinstance(session, aiohttp.ClientSession) and isinstance(
        getattr(session, "_timeout", None), aiohttp.ClientTimeout
    ):
        session._timeout = timeout
        return True
    log.warning("discord: cannot limit REST calls (discord.py or aiohttp changed): up to 300 s")
    return False


def _lenient_json(data: Any) -> Any:
    try:
        return _fast_json[0](data)
    except ValueError:  # orjson.JSONDecodeError: a lone surrogate escape, NaN, a huge int
        return json.loads(data)


_fast_json: list[Callable[[Any], Any]] = []  # what discord.py read JSON with before


def read_json_leniently() -> None:
    """discord.py reads the gateway's events and the API's answers with orjson once it is
    installed (it is: the storage's answer path uses it). orjson refuses a lone surrogate
    escape ("\\ud800"), which JSON allows and a client can send, and that error ended the
    shards' session loop: one event stopped the bot. What orjson refuses json reads (the
    core drops lone surrogates from the text it takes); orjson still reads everything else.
    Idempotent."""
    if discord.utils._from_json is not _lenient_json:
        _fast_json[:] = [discord.utils._from_json]
        discord.utils._from_json = _lenient_json


def transient_status(status: int) -> bool:
    """An HTTP status worth retrying: a 5xx, 408 or 429."""
    return status >= 500 or status in (408, 429)


async def login(
    client: discord.Client,
    token: Secret,
    *,
    retry: bool,
    limit: aiohttp.ClientTimeout,
    delays: Iterator[float] | None = None,
) -> None:
    """Log in; a rejected token is fatal at once. An unreachable Discord (or a 5xx) is retried
    with backoff when `retry` (the bot), fatal otherwise (`stackprep discord sync`). Once
    logged in, every REST call is held to `limit`."""
    delays = delays or backoff()
    while True:
        try:
            async with asyncio.timeout(LOGIN_TIMEOUT):
                await client.login(token.reveal())
        except discord.LoginFailure:
            raise AdapterError(REJECTED.format(why="401 Unauthorized")) from None
        except discord.HTTPException as exc:
            if not (retry and transient_status(exc.status)):
                raise AdapterError(f"Discord login failed: {exc.status} {exc.text[:200]}") from None
            reason = f"HTTP {exc.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if not retry:
                raise AdapterError(f"cannot reach Discord: {type(exc).__name__}") from None
            reason = type(exc).__name__
        else:
            limit_rest_calls(client, limit)
            return
        delay = next(delays)
        log.warning("discord: cannot log in (%s); trying again in %.0f s", reason, delay)
        await _fresh_session(client)
        await asyncio.sleep(delay)


async def _fresh_session(client: discord.Client) -> None:
    """Close the session a failed login left open; the next login makes a new one. Closing it
    closes its connector too, so discord.py must make a new connector as well."""
    await client.http.close()
    client.http.connector = MISSING


async def stay_connected(client: discord.Client) -> None:
    """The gateway sessions (every shard's, `shards.ShardedClient`) until the client is
    closed; a close that must not be retried, on any shard, raises AdapterError. (A sharded
    client retries a gateway it cannot reach at the start itself; discord.py's unsharded one
    stops with an AttributeError there instead: Rapptz/discord.py#10520.)

    Cancelled (the bot stopping), it closes the client before it cancels the session: a
    cancellation that lands while a shard reconnects can be lost (discord.py's
    `Shard.reconnect` returns on CancelledError, and Python 3.11's `wait_for` drops one that
    coincides with a failed attempt), which would leave the shard retrying for ever; a closed
    client's shards stop retrying."""
    gateway = asyncio.create_task(_connect(client), name="discord-gateway")
    try:
        await asyncio.shield(gateway)
    except asyncio.CancelledError:
        await client.close()
        gateway.cancel()
        await asyncio.wait({gateway})
        if not gateway.cancelled():
            gateway.exception()  # retrieved: we are stopping anyway
        raise


async def _connect(client: discord.Client) -> None:
    try:
        await client.connect(reconnect=True)  # returns once closed by us
    except discord.PrivilegedIntentsRequired:
        raise closed_for_good(4014) from None
    except discord.ConnectionClosed as exc:
        raise closed_for_good(exc.code) from None
    except discord.ClientException as exc:
        raise AdapterError(f"Discord refused the gateway connection: {exc}") from None


def why_failed(exc: BaseException, limit: float | None = None) -> str:
    """A short, token-free account of a failed REST call, for a log line or a stored reason."""
    if isinstance(exc, discord.HTTPException):
        return f"{exc.status} {exc.text[:120]}".strip()
    if isinstance(exc, TimeoutError):
        within = f" within {limit:g} s" if limit else " in time"
        return f"Discord did not answer{within}"
    return f"network error ({type(exc).__name__})"
