"""What the bank says to people: the topic they asked for is not there."""

from __future__ import annotations


def unknown_topic(text: str) -> str:
    return f"I don't know the topic '{text.strip()[:40]}'. Use /topics to see the list."
