"""The exception tree. Every QuizError carries a message that is safe to show the user."""

from __future__ import annotations


class QuizError(Exception):
    """A problem the user caused or can act on; `message` is shown to them privately."""

    default_message = "Something about that request was not right."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class UnknownTopic(QuizError):
    default_message = "I don't know that topic. Use /topics to see the list."


class UnknownDifficulty(QuizError):
    default_message = "Difficulty must be 1, 2 or 3 (or junior, mid, senior)."


class UnknownQuestion(QuizError):
    default_message = "There is no question with that id."


class EmptyBank(QuizError):
    default_message = "There are no questions to ask for that choice yet."


class InvalidAnswer(QuizError):
    """Forged, truncated or stale button data."""

    default_message = "This question is no longer open."


class RoundClosed(QuizError):
    default_message = "This round is closed."


class AlreadyAnswered(QuizError):
    default_message = "You have already answered this question."


class NotAllowed(QuizError):
    default_message = "You are not allowed to do that here."


class RateLimited(QuizError):
    default_message = "You are asking for questions too quickly. Take a breath and try again."


class StorageUnavailable(QuizError):
    """The database is locked, missing or unreadable; nothing was recorded."""

    default_message = "The quiz database is busy right now; nothing was recorded. Try again."


class StorageFull(StorageUnavailable):
    """The disk holding the database is full (SQLITE_FULL): no write succeeds until the
    operator frees space, so trying again soon does not help."""

    default_message = (
        "The quiz cannot save anything right now: the server's disk is full. Nothing was "
        "recorded; the bot's operator has to free some space."
    )


class StorageFailed(StorageUnavailable):
    """The database cannot be written at all: read-only, an I/O error, or a damaged file."""

    default_message = (
        "The quiz cannot save anything right now because of a storage fault on the server. "
        "Nothing was recorded; the fault is logged for the bot's operator."
    )


class ConfigError(Exception):
    """A bad configuration file or value; names the file, the key and what is expected."""


class BankError(Exception):
    """The question bank could not be loaded; `issues` lists every problem found."""

    def __init__(self, issues: list[str]) -> None:
        self.issues = issues
        shown = "\n".join(f"  {issue}" for issue in issues[:50])
        more = f"\n  ... and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(f"the question bank has {len(issues)} problem(s):\n{shown}{more}")
