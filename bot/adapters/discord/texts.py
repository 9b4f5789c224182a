"""Wording only the Discord adapter needs: Discord's own permission names, and what to do
when the bot lacks one or when Discord did not take a file."""

from __future__ import annotations

from collections.abc import Sequence

# discord.Permissions flag -> the name Discord shows in its settings
PERMISSION_NAMES = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
}


def cannot_post_daily(missing: Sequence[str], *, thread: bool) -> str:
    """/daily set where the bot could not post: which permissions it lacks, and where to
    grant them."""
    where = "this thread" if thread else "this channel"
    return (
        f"I can't post the daily question in {where}: I need {_needed(missing)} here. A "
        "server admin can allow it for my role (Server Settings > Roles) or in the channel's "
        "permissions; then run /daily set again."
    )


def _needed(missing: Sequence[str]) -> str:
    """ "the Send Messages permission", "the View Channel and Send Messages permissions"."""
    names = [PERMISSION_NAMES.get(flag, flag) for flag in missing]
    if len(names) == 1:
        return f"the {names[0]} permission"
    return "the " + ", ".join(names[:-1]) + f" and {names[-1]} permissions"


def file_not_sent(reason: str) -> str:
    """A chart or export Discord did not take (too slow, too large...)."""
    return f"I couldn't send the file ({reason[:120]}). Try again in a minute."


# /quiz: Discord allows no options on a command with subcommands, so they are /quiz start's
QUIZ_DESCRIPTION = "A timed group quiz in this channel: standings after each question, a winner"
QUIZ_SUBCOMMANDS = {
    "start": "Start a game here: questions one after another against the clock",
    "stop": "End the game here (the one who started it, or a Manage Server member)",
    "status": "The game here: the current question, the time left, the top 5",
}
QUIZ_OPTIONS = {
    "count": "How many questions (3-20, default 5)",
    "topic": "Only this topic (start typing to see the topics)",
    "difficulty": "Only this level",
    "seconds": "Seconds for each question (10-120, default 30)",
    "hints": "Halfway through each question, strike out one wrong option (later answers earn half)",
}
GAME_NEEDS_THE_BOT = (
    "A game posts its questions in the channel, and I am not a member of this server (the "
    "app is installed for your account only). Ask a server admin to add me, or start a game "
    "in a DM with me."
)


def cannot_post_game(missing: Sequence[str], *, thread: bool) -> str:
    """/quiz start where the bot could not post the game's questions."""
    where = "this thread" if thread else "this channel"
    return (
        f"I can't run a game in {where}: I need {_needed(missing)} here to post its "
        "questions. A server admin can allow it for my role (Server Settings > Roles) or in "
        "the channel's permissions."
    )
