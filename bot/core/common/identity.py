"""Who and where: platform-stable references, never usernames."""

from __future__ import annotations

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
    """A place: `community_id` is the Discord guild or Telegram group; None in a DM."""

    platform: Platform
    chat_id: str
    community_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform.value}:{self.chat_id}"

    @property
    def is_private(self) -> bool:
        return self.community_id is None

    @property
    def scope(self) -> str | None:
        """The leaderboard scope of this place's community, or None in a DM."""
        if self.community_id is None:
            return None
        return community_scope(self.platform, self.community_id)


GLOBAL_SCOPE = "global"


def community_scope(platform: Platform, community_id: str) -> str:
    return f"{platform.value}:{community_id}"
