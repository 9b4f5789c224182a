"""The console's own wording: how typed input stands in for buttons, and its hints."""

from __future__ import annotations

BYE = "Bye! Your score is saved."
NO_OPEN_QUESTION = "There is no open question. Ask for one with /question."
NEXT_HINT = "Type n for the next question."


def answer_hint(letters: str) -> str:
    return f"Answer with {letters}."


def no_such_option(label: str) -> str:
    return f"This question has no option {label}."


def unknown_command(word: str) -> str:
    return f"Unknown command {word[:30]!r}. Type /help for the commands."
