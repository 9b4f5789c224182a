"""Reply: the only outbound vocabulary. Plain text blocks; each adapter escapes and renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Code:
    text: str
    language: str = "python"


@dataclass(frozen=True, slots=True)
class Countdown:
    """A deadline, shown the way each platform counts down best (Discord: a timestamp the
    client counts down itself, so the message is never edited to tick)."""

    label: str  # e.g. "Closes"
    until: datetime  # aware, UTC

    @property
    def text(self) -> str:
        """Plain text: the time of day in UTC (Telegram, logs, tests)."""
        return f"{self.label} at {self.until:%H:%M:%S} UTC"


@dataclass(frozen=True, slots=True)
class Link:
    """A link to read more (a question's first reference): Discord shows a link button,
    Telegram a link in the text (previews off), the console the URL. Never markdown in text."""

    label: str  # e.g. "Learn more"
    url: str  # https (the bank's validator refuses anything else)

    @property
    def text(self) -> str:
        """Plain text: the label and the URL (console, logs, tests)."""
        return f"{self.label}: {self.url}"


LEARN_MORE = "Learn more"


def learn_more(references: Sequence[str]) -> tuple[Link, ...]:
    """The "Learn more" link to a question's first reference; none without an https one."""
    first = references[0] if references else ""
    return (Link(LEARN_MORE, first),) if first.startswith("https://") else ()


Block = Paragraph | Code | Countdown | Link


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    token: str


@dataclass(frozen=True, slots=True)
class Reply:
    blocks: tuple[Block, ...]
    choices: tuple[Button, ...] = ()  # answer buttons (A-D)
    actions: tuple[Button, ...] = ()  # other buttons, e.g. "Next question"
    private: bool = False  # show only to the person who acted
    summary: str | None = None  # <= 200 chars, for toasts and Telegram callback alerts

    def plain_text(self) -> str:
        """The reply as plain text (console, logs, tests)."""
        parts: list[str] = []
        for block in self.blocks:
            parts.append(block.text)
        return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class QuizPoll:
    """A question that fits a native quiz poll (Telegram): no code, within its limits."""

    question: str
    options: tuple[str, ...]
    correct_index: int
    explanation: str
    open_seconds: int | None = None  # closes by itself this long after posting (a game's)


POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100
POLL_EXPLANATION_MAX = 200
