"""The player cache both SQL engines keep: sender -> player id, without a query per message.

Every answer, vote and command first maps its sender (platform, user id, display name) to a
player id. The cache holds one small int per sender, keyed by one int where the user id is a
number (it is on Discord and Telegram): the player id and a hash of the name last stored, so
a rename is still noticed (a changed name whose 32-bit hash collides with the old one is
missed until the entry leaves the cache: about one rename in four billion).

Where several processes share one database (PostgreSQL), another process may rename a player
this one has cached; `max_age` makes an entry's name count as unchecked once it is older than
that, so the store writes the name again (a no-op when it is unchanged) at most that often, in
the background: the caller gets the cached id at once. An entry's age counts from when it was
stored: with one clock for all (entries fresh within the same minute), every active player's
next message after each full minute wrote at once: 10,000 no-op UPDATEs in the second after
the minute turned (bench/README.md, PostgreSQL answers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Hashable

from bot.core.common.identity import Platform, UserRef

log = logging.getLogger(__name__)

CACHE_SIZE = 200_000
"""Senders remembered (about 150 bytes each: 30 MB full). Past it the least recently seen are
dropped; looking one up again costs a share of one read, not a write."""

_PLATFORMS = {p: i for i, p in enumerate(Platform)}
_NAME_BITS = 32
_NAME_MASK = (1 << _NAME_BITS) - 1
_AGE_BITS = 32
_AGE_MASK = (1 << _AGE_BITS) - 1


def cache_key(user: UserRef) -> Hashable:
    """The cache's key for a sender: one int for a numeric user id, else (platform, id)."""
    uid = user.user_id
    if uid.isdigit() and uid.isascii() and len(uid) < 30 and (uid[0] != "0" or uid == "0"):
        return int(uid) * 4 + _PLATFORMS[user.platform]
    return (user.platform.value, uid)


class PlayerCache:
    """Sender -> (player id, hash of the stored name), least recently seen dropped past
    `size`; with `max_age` (seconds), an entry's name is checked again once that old."""

    def __init__(self, size: int = CACHE_SIZE, max_age: float | None = None) -> None:
        self._size = size
        self._age = max_age
        self._entries: OrderedDict[Hashable, int] = OrderedDict()

    @staticmethod
    def _stamp() -> int:
        """Now, in milliseconds, in _AGE_BITS (an age is the difference, masked: 49 days)."""
        return int(time.monotonic() * 1000) & _AGE_MASK

    def get(self, key: Hashable, name: str) -> tuple[int, bool, bool] | None:
        """(player id, whether `name` is the name last stored here, whether that was within
        `max_age`) for a cached sender; None for one not cached."""
        packed = self._entries.get(key)
        if packed is None:
            return None
        self._entries.move_to_end(key)
        if self._age is None:
            return packed >> _NAME_BITS, packed & _NAME_MASK == hash(name) & _NAME_MASK, True
        player, same = packed >> (_NAME_BITS + _AGE_BITS), (packed >> _AGE_BITS) & _NAME_MASK
        age = (self._stamp() - packed) & _AGE_MASK
        return player, same == hash(name) & _NAME_MASK, age < self._age * 1000

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    @property
    def size(self) -> int:
        """How many senders it holds at most."""
        return self._size

    def put(self, key: Hashable, player_id: int, name: str) -> None:
        """Remember that `name` is stored for the sender's player `player_id`."""
        packed = (player_id << _NAME_BITS) | (hash(name) & _NAME_MASK)
        if self._age is not None:
            packed = (packed << _AGE_BITS) | self._stamp()
        self._entries[key] = packed
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


class CachedPlayers:
    """Sender -> player id through a PlayerCache: a cached sender with an unchanged name costs
    no query; an engine supplies the lookup (creating new players) and the rename."""

    def __init__(self, cache: PlayerCache) -> None:
        self._cache = cache
        self._checks: set[asyncio.Task[None]] = set()

    async def player(self, user: UserRef, name: str) -> int:
        """The sender's player id; `name` (already cleaned) becomes their stored name."""
        key = cache_key(user)
        cached = self._cache.get(key, name)
        if cached is not None:
            player_id, same, fresh = cached
            if same:
                if not fresh:  # someone else may have renamed them meanwhile
                    self._cache.put(key, player_id, name)
                    self._check(player_id, name)
                return player_id
            await self._rename(player_id, name)
        else:
            player_id = await self._find_or_create(user, name)
        self._cache.put(key, player_id, name)
        return player_id

    def _check(self, player_id: int, name: str) -> None:
        """Store `name` again in the background (a no-op write when it is unchanged)."""
        task = asyncio.ensure_future(self._rename(player_id, name))
        self._checks.add(task)
        task.add_done_callback(self._checked)

    def _checked(self, task: asyncio.Task[None]) -> None:
        self._checks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("storing a player's name again failed: %s", task.exception())

    async def settle(self) -> None:
        """Wait for the names being stored again in the background."""
        while self._checks:
            await asyncio.wait(set(self._checks))

    async def _rename(self, player_id: int, name: str) -> None:
        """Store `name` for the player (no write if it is stored already)."""
        raise NotImplementedError

    async def _find_or_create(self, user: UserRef, name: str) -> int:
        """The sender's player id, read (and renamed if the name differs) or created."""
        raise NotImplementedError
