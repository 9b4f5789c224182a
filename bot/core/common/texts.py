"""Wording shared by every context: the apology, notices, and what the time parsers say."""

from __future__ import annotations

from bot.core.common.identity import Platform
from bot.core.common.replies import Paragraph, Reply
from bot.core.common.untrusted import storable

APOLOGY = "Sorry, something went wrong on our side. It has been logged; please try again."
TZ_LIST_URL = "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones"
FOREIGN_BUTTON = (
    "This button belongs to a question asked in another chat; answers count only there. "
    "Ask for your own with /question."
)


def notice_reply(message: str) -> Reply:
    """A short private message: a QuizError's message, the apology, a refusal."""
    return Reply((Paragraph(message),), private=True, summary=message[:200])


def unknown_command(command: str) -> str:
    return f"I don't know the command /{storable(command)[:32]}. Type /help for the commands."


def community_word(platform: Platform) -> str:
    """How a leaderboard or recap names the community it is about."""
    return {Platform.DISCORD: "this server", Platform.TELEGRAM: "this group"}.get(
        platform, "this community"
    )


def not_a_time(text: str) -> str:
    return (
        f"'{text.strip()[:20]}' is not a time of day. Use HH:MM on a 24-hour clock, "
        "e.g. 09:00 or 18:30."
    )


def unknown_timezone(text: str, suggestions: list[str]) -> str:
    hint = f" Did you mean {' or '.join(suggestions[:3])}?" if suggestions else ""
    return (
        f"I don't know the timezone '{text.strip()[:40]}'.{hint} Use an IANA name such as "
        "Europe/Berlin, America/New_York or Asia/Kolkata; find yours in the "
        f"'TZ identifier' column of {TZ_LIST_URL}"
    )
