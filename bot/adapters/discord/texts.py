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
    names = [PERMISSION_NAMES.get(flag, flag) for flag in missing]
    where = "this thread" if thread else "this channel"
    if len(names) == 1:
        need = f"the {names[0]} permission"
    else:
        need = "the " + ", ".join(names[:-1]) + f" and {names[-1]} permissions"
    return (
        f"I can't post the daily question in {where}: I need {need} here. A server admin "
        "can allow it for my role (Server Settings > Roles) or in the channel's permissions; "
        "then run /daily set again."
    )


def file_not_sent(reason: str) -> str:
    """A chart or export Discord did not take (too slow, too large...)."""
    return f"I couldn't send the file ({reason[:120]}). Try again in a minute."
