"""The Discord Outbox: how the scheduler posts to a channel, and edits what it posted.

Failures become the core's typed delivery errors: 403/404 (bot removed, channel deleted, no
access) -> ChatGone, but a deleted message alone (when editing) -> DeliveryFailed; a 429
beyond what discord.py waits out itself -> RetryLater; no answer within the REST limit
(`connection.REST_TIMEOUT`), like anything else -> DeliveryFailed, retried by the scheduler.
Every post carries a message nonce derived from the delivery nonce, with `enforce_nonce`,
so Discord drops a retried post instead of showing it twice.
"""

from __future__ import annotations

import hashlib

import aiohttp
import discord

from bot.adapters.discord.render import NO_MENTIONS, render
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.delivery import ChatGone, DeliveryFailed, RetryLater
from bot.core.quiz.service import Asked

NONCE_MAX = 25  # Discord accepts a nonce of at most 25 characters
UNKNOWN_MESSAGE = 10008  # Discord's JSON error code for a deleted message


def message_nonce(delivery_nonce: str) -> str:
    """A stable Discord message nonce for one delivery: same delivery, same nonce."""
    digest = hashlib.blake2b(delivery_nonce.encode("utf-8"), digest_size=11).hexdigest()
    return f"sp{digest}"[:NONCE_MAX]


class DiscordOutbox:
    platform = Platform.DISCORD

    def __init__(self, client: discord.Client, rest_limit: float | None = None) -> None:
        self._client = client
        self._limit = rest_limit  # seconds one REST call may take (for the error's wording)

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        return await self.post(chat, asked.reply, nonce=nonce)

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        channel = self._channel(chat)
        rendered = render(reply)
        try:
            message = await channel.send(**rendered.message_kwargs(), nonce=message_nonce(nonce))
        except Exception as exc:
            raise _delivery_error(exc, chat, self._limit) from None
        finally:
            rendered.release()
        return str(message.id)

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        channel = self._channel(chat)
        try:
            message_id = int(message_ref)
        except ValueError:
            raise DeliveryFailed(f"not a Discord message id: {message_ref[:30]!r}") from None
        rendered = render(reply)
        try:
            await channel.get_partial_message(message_id).edit(
                content=rendered.content, view=rendered.view, allowed_mentions=NO_MENTIONS
            )
        except Exception as exc:
            raise _delivery_error(exc, chat, self._limit) from None
        finally:
            rendered.release()

    def _channel(self, chat: ChatRef) -> discord.PartialMessageable:
        if chat.platform is not Platform.DISCORD:
            raise DeliveryFailed(f"not a Discord channel: {chat.key}")
        if self._client.user is None:
            raise DeliveryFailed("the Discord client is not logged in yet")
        try:
            channel_id = int(chat.chat_id)
        except ValueError:
            raise ChatGone(f"not a Discord channel id: {chat.chat_id[:30]!r}") from None
        guild_id = int(chat.community_id) if chat.community_id else None
        return self._client.get_partial_messageable(channel_id, guild_id=guild_id)


def _delivery_error(exc: Exception, chat: ChatRef, limit: float | None) -> DeliveryFailed:
    """A typed, token-free delivery error for whatever posting raised."""
    where = f"Discord channel {chat.chat_id}"
    if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_MESSAGE:
        # only that message was deleted: the channel itself is still there
        return DeliveryFailed(f"{where}: {exc.status} {_describe(exc)}")
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return ChatGone(f"{where}: {exc.status} {_describe(exc)}")
    if isinstance(exc, discord.RateLimited):
        return RetryLater(f"{where}: rate limited for {exc.retry_after:.1f}s", exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:  # no Via header (Cloudflare), or retries exhausted
            retry_after = _retry_after(exc)
            return RetryLater(f"{where}: 429 rate limited for {retry_after:.1f}s", retry_after)
        return DeliveryFailed(f"{where}: {exc.status} {_describe(exc)}")
    if isinstance(exc, TimeoutError):  # the REST limit (connection.REST_TIMEOUT) ran out
        within = f"within {limit:g} s" if limit else "in time"
        return DeliveryFailed(f"{where}: Discord did not answer {within}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return DeliveryFailed(f"{where}: network error ({type(exc).__name__})")
    return DeliveryFailed(f"{where}: {type(exc).__name__}")


def _describe(exc: discord.HTTPException) -> str:
    text = exc.text or type(exc).__name__
    return f"{text[:120]} (code {exc.code})" if exc.code else text[:120]


def _retry_after(exc: discord.HTTPException) -> float:
    """Retry-After of a 429 that discord.py did not wait out itself; 60 s if it has none."""
    try:
        value = float(exc.response.headers.get("Retry-After", ""))
    except (AttributeError, TypeError, ValueError):
        return 60.0
    return value if value >= 0 else 60.0
