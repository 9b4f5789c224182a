"""Who and where: platform-stable references, never usernames."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    CONSOLE = "console"
    DISCORD = "discord"
    TELEGRAM = "telegram"


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person on one platform, by the platform's stable numeric id (as text)."""

    platform: Platform
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.platform.value}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A place: `chat_id` is where it posts, opaque to the core (a Discord channel or thread,
    a Telegram chat or a forum topic of one: bot/adapters/telegram/places.py); `community_id`
    is the Discord guild or Telegram group (its boards); None in a DM."""

    platform: Platform
    chat_id: str
    community_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform.value}:{self.chat_id}"

    @property
    def is_private(self) -> bool:
        return self.community_id is None

    def same_place(self, other: ChatRef) -> bool:
        """The same chat (a Discord channel or thread, a Telegram chat, a DM)."""
        return (self.platform, self.chat_id) == (other.platform, other.chat_id)

    @property
    def scope(self) -> str | None:
        """The leaderboard scope of this place's community, or None in a DM."""
        if self.community_id is None:
            return None
        return community_scope(self.platform, self.community_id)


GLOBAL_SCOPE = "global"


def community_scope(platform: Platform, community_id: str) -> str:
    return f"{platform.value}:{community_id}"


# -- display names ----------------------------------------------------------------------------
# Platforms hand us whatever people typed as their name. Before a name is stored or shown it
# goes through `clean_name`; where it is shown inside a line of our text, through `shown_name`.

NAME_MAX = 64  # characters kept of a display name
_READ_MAX = 16 * NAME_MAX  # characters of a name looked at (platforms allow 32 to 128)
_MARKS_MAX = 4  # combining marks kept on one base character (a "Zalgo" name stacks dozens)
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ and ZWJ: needed inside words and emoji only
_BLANKS = frozenset("\u115f\u1160\u2800\u3164\uffa0")  # letters that draw as nothing
_BLACK_FLAG = "\U0001f3f4"  # tag characters after it spell a subdivision flag
_TAGS = range(0xE0020, 0xE0080)
_WORD_JOINER = "\u2060"
_FSI, _PDI = "\u2068", "\u2069"
# Discord's <#channel>, </command:id>, <:emoji:id>, <a:emoji:id>, <t:timestamp>, <id:guide>
_DISCORD_MARKUP = re.compile(r"<(?=#\d|/[\w -]+:\d|a?:\w+:\d|t:-?\d|id:\w)")
_COMMAND = re.compile(r"(?:^|(?<=\s))/")  # a Telegram /command at the start of a word


def clean_name(text: str) -> str:
    """A display name that is safe to store and show: no control or format characters (ANSI
    escapes, bidi overrides and isolates, zero-width spaces), no stray joiners or stacks of
    combining marks, whitespace collapsed, at most NAME_MAX characters. May return ''."""
    return _clean(text[:_READ_MAX])


@functools.lru_cache(maxsize=2048)  # every answer stores its player's name: ~8 us -> ~0.1 us
def _clean(text: str) -> str:
    kept: list[str] = []
    marks = 0
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if ch.isspace() or ch in _BLANKS or category in {"Cc", "Zl", "Zp"}:
            if kept and kept[-1] != " " and (ch.isspace() or ch in _BLANKS):
                kept.append(" ")
            marks = 0
            continue
        if category == "Cf":
            if ch in _JOINERS or (
                ord(ch) in _TAGS and kept and (kept[-1] == _BLACK_FLAG or ord(kept[-1]) in _TAGS)
            ):
                kept.append(ch)
            continue
        if category == "Cs" or _is_noncharacter(ch):
            continue
        if category in {"Mn", "Me"}:
            if not kept or kept[-1] == " " or marks >= _MARKS_MAX:
                continue
            marks += 1
        else:
            marks = 0
        kept.append(ch)
    return _trim("".join(_drop_stray_joiners(kept))[:NAME_MAX])


def shown_name(text: str) -> str:
    """`clean_name` for use inside a line of our text: a name in a right-to-left script is
    isolated (FSI ... PDI) so it cannot reorder the rank and points around it, and mention
    syntax (`@everyone`, `<@123>`, `<#123>`, Telegram's `@username` and `/command`) is broken
    with an invisible word joiner, so no platform links, pings or runs it."""
    name = clean_name(text).replace("@", "@" + _WORD_JOINER)
    name = _DISCORD_MARKUP.sub("<" + _WORD_JOINER, name)
    name = _COMMAND.sub("/" + _WORD_JOINER, name)
    if any(unicodedata.bidirectional(ch) in {"R", "AL"} for ch in name):
        name = f"{_FSI}{name}{_PDI}"
    return name


def _is_noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _drop_stray_joiners(chars: list[str]) -> list[str]:
    """Keep a ZWJ/ZWNJ only between two visible characters (inside a word or an emoji)."""
    out: list[str] = []
    for index, ch in enumerate(chars):
        if ch in _JOINERS:
            after = chars[index + 1] if index + 1 < len(chars) else " "
            before = out[-1] if out else " "
            if {before, after} & {" ", *_JOINERS}:
                continue
        out.append(ch)
    return out


def _trim(name: str) -> str:
    """Strip spaces and joiners left at either end (also by the cut to NAME_MAX)."""
    return name.strip(" \u200c\u200d")
