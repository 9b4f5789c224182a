"""All wording of question reports, as plain text and Reply values (adapters escape).

Reasons are keyed by their word (bot.core.quiz.reports.Reason is a StrEnum of the same words).
"""

from __future__ import annotations

import re

from bot.core.common.replies import Button, Paragraph, Reply
from bot.core.quiz.tokens import report_token

REPORT_BUTTON = "Report"
NOTE_MAX = 500  # characters of a note (a Discord paragraph input holds up to 4000)
REASON_LABELS = {
    "wrong": "Wrong answer",
    "unclear": "Unclear",
    "outdated": "Outdated",
    "typo": "Typo",
    "other": "Other",
}
REASON_HINTS = {  # under each reason in Discord's menu (<= 100 characters)
    "wrong": "The answer marked right is not right",
    "unclear": "The question or its options can be read more than one way",
    "outdated": "It was true once; the current versions differ",
    "typo": "A spelling, grammar or formatting mistake",
    "other": "Something else: say what in the note",
}
REASON_WORDS = " | ".join(REASON_LABELS)

MODAL_TITLE = "Report this question"  # Discord modal title (<= 45 characters)
REASON_FIELD = "What is wrong?"  # Discord label (<= 45 characters)
NOTE_FIELD = "Note (optional)"
NOTE_PLACEHOLDER = "What should it say? A link to the documentation helps."
SKIP_BUTTON = "Skip"
SKIP_WORD = "skip"  # the Skip button's word: `r1.<round>.skip`

ALREADY_REPORTED = (
    "You already reported this question, thanks: one report per person per question. "
    "Nothing was changed."
)
INVALID_BUTTON = (
    "This report button is not valid (it may come from an altered message). Nothing was reported."
)
NO_SUCH_ROUND = (
    "I can't find the question this button belongs to, so nothing was reported. "
    "Report it from a newer message."
)
NOT_REPORTED = "You have not reported this question, so there is no note to skip."
EMPTY_NOTE = "That note is empty, so nothing was changed."
REPORT_USAGE = (
    f"Report the last question shown: /report {REASON_WORDS.replace(' ', '')} [note]. "
    "For example: /report outdated Django 5 changed this."
)
NO_QUESTION_TO_REPORT = (
    "There is no question to report yet: /report is about the last multiple-choice "
    "question shown here. Ask one with /question."
)
CONSOLE_HELP_LINE = (
    "/report REASON [note] — report the last question (wrong, unclear, outdated, typo, other)"
)

# the note prompt's first words, and how a reply to it finds its report (Telegram)
_NOTE_PROMPT = "📝 Report #{id} saved"
NOTE_PROMPT_RE = re.compile(r"📝 Report #(\d{1,12}) saved")


def report_button(round_id: str) -> Button:
    return Button(REPORT_BUTTON, report_token(round_id))


def unknown_reason(word: str) -> str:
    return f"I don't know the reason '{word.strip()[:20]}'. Use one of: {REASON_WORDS}."


def note_too_long(length: int, limit: int) -> str:
    return (
        f"Your note is {length} characters; the limit is {limit}, so it was not saved and "
        "nothing changed. Shorten it and send it again."
    )


def no_report_to_note(report_id: int) -> str:
    return f"You have no open report #{report_id} to add a note to, so nothing was changed."


def nothing_to_resolve(question_id: str) -> str:
    return (
        f"Question '{question_id.strip()[:48]}' has no open reports, so nothing was changed. "
        "`stackprep questions reports --open` lists the open ones."
    )


def _snippet(prompt: str, limit: int = 150) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def reasons_reply(round_id: str, prompt: str) -> Reply:
    """What is wrong? with one button per reason (two rows: the first three, then two)."""
    buttons = [Button(label, report_token(round_id, word)) for word, label in REASON_LABELS.items()]
    return Reply(
        (
            Paragraph("🚩 What is wrong with this question?", bold=True),
            Paragraph(f"“{_snippet(prompt)}”"),
        ),
        choices=tuple(buttons[:3]),
        actions=tuple(buttons[3:]),
    )


def filed_reply(report_id: int, reason_label: str, with_note: bool) -> Reply:
    note = " with your note" if with_note else ""
    text = (
        f"Thanks! Your report #{report_id} ({reason_label}{note}) is saved; the maintainers "
        "will look at it."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def note_prompt(report_id: int, reason_label: str, round_id: str) -> Reply:
    """Telegram: the report is saved; a note comes as a reply to this message (its first
    words name the report: NOTE_PROMPT_RE), or the person taps Skip."""
    text = (
        f"{_NOTE_PROMPT.format(id=report_id)} ({reason_label}). Thanks! To add a note, reply "
        f"to this message with it (up to {NOTE_MAX} characters); or tap Skip."
    )
    skip = Button(SKIP_BUTTON, report_token(round_id, SKIP_WORD))
    return Reply((Paragraph(text),), actions=(skip,), summary=f"Report #{report_id} saved.")


def note_added_reply(report_id: int) -> Reply:
    text = f"Your note was added to report #{report_id}. Thanks!"
    return Reply((Paragraph(text),), private=True, summary=text)


def skipped_reply() -> Reply:
    text = "Saved without a note. Thanks!"
    return Reply((Paragraph(text),), private=True, summary=text)
