"""Reply: the only outbound vocabulary. Plain text blocks; each adapter escapes and renders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Code:
    text: str
    language: str = "python"


Block = Paragraph | Code


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


POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100
POLL_EXPLANATION_MAX = 200
