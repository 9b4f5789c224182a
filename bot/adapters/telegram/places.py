"""Where on Telegram: a place id, the `chat_id` of a ChatRef, names a chat or a forum topic.

A forum (a supergroup with topics, `is_forum`) is one chat whose messages live in topics;
Telegram tells a message's topic by `message_thread_id` (with `is_topic_message`), and a post
goes into a topic with the same parameter. What is stored by place and posted later (a game,
a daily subscription, a round) must keep the topic, so a place id is the chat's id alone (a
private chat, a group, a forum's General topic: messages there carry no thread id) or
`<chat id>/<topic id>`. The core keeps it opaque (one game per place, one daily subscription
per place); the community, and so the boards, stay the group's (`ChatRef.community_id`).
Rows stored before topics were told apart hold the chat id alone, so they mean General.

Only this adapter builds (`place_id`) and reads (`parse_place`) them. General's own id (1) is
never written: Telegram refuses `message_thread_id=1` ("message thread not found").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = "/"
GENERAL_TOPIC = 1  # the General topic's thread id; posting there takes no thread id
_CHAT = re.compile(r"-?[1-9][0-9]{0,18}|@[A-Za-z][A-Za-z0-9_]{3,31}")  # an id or @username
_TOPIC = re.compile(r"[1-9][0-9]{0,9}")
_TOPIC_MAX = 2**31 - 1  # message ids (a topic's id is its first message's) are 32-bit
_SHOWN = 40  # characters of a bad place id quoted in its error


class BadPlace(ValueError):
    """Not a Telegram place id; the message says what is wrong and quotes it, cut short."""


@dataclass(frozen=True, slots=True)
class Place:
    """A Telegram chat (its numeric id, or a public @username) and, in a forum, the topic
    (None: no topic, or General)."""

    chat_id: int | str
    thread_id: int | None = None


def topic_of(thread_id: int | None) -> int | None:
    """The topic a post goes to: None for no topic and for General."""
    return None if thread_id is None or thread_id == GENERAL_TOPIC else thread_id


def place_id(chat_id: int | str, thread_id: int | None = None) -> str:
    """The place id of a chat, or of a forum topic in it (General: the chat's id alone)."""
    chat = str(chat_id)
    if not _CHAT.fullmatch(chat):
        raise BadPlace(f"not a Telegram chat id: {chat[:_SHOWN]!r}")
    topic = topic_of(thread_id)
    if topic is None:
        return chat
    if not 1 < topic <= _TOPIC_MAX:
        raise BadPlace(f"not a forum topic id: {topic}")
    return f"{chat}{SEPARATOR}{topic}"


def parse_place(text: str) -> Place:
    """The chat and topic a place id names; BadPlace for anything `place_id` never writes."""
    chat, separator, topic = text.partition(SEPARATOR)
    shown = repr(text[:_SHOWN])
    if not _CHAT.fullmatch(chat):
        raise BadPlace(f"not a Telegram place id: {shown} (a chat id or @username first)")
    chat_id: int | str = chat if chat.startswith("@") else int(chat)
    if not separator:
        return Place(chat_id)
    if not _TOPIC.fullmatch(topic) or not 1 < int(topic) <= _TOPIC_MAX:
        raise BadPlace(
            f"not a Telegram place id: {shown} (after {SEPARATOR!r} a forum topic id, 2 to "
            f"{_TOPIC_MAX})"
        )
    return Place(chat_id, int(topic))
