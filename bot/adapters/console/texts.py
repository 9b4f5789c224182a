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


NO_REMINDERS = (
    "The console cannot remind you: it only answers what you type and sends nothing later, "
    "so no reminder was set. Type /due to see what is due; /remind works on Discord and "
    "Telegram."
)


def line_too_long(limit: int) -> str:
    return f"That line is longer than {limit // 1024} KiB, so it was ignored; the quiz goes on."


def not_utf8(byte: int, position: int) -> str:
    return (
        f"That line is not UTF-8 text (byte 0x{byte:02x} at position {position}), so it was "
        "ignored. Set your terminal or file to UTF-8."
    )
