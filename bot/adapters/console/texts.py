"""The console's own wording: how typed input stands in for buttons, and its hints."""

from __future__ import annotations

BYE = "Bye! Your score is saved."
NO_OPEN_QUESTION = "There is no open question. Ask for one with /question."
NEXT_HINT = "Type n for the next question."
REPORT_HINT = "Something wrong with it? /report wrong|unclear|outdated|typo|other [note]"
NO_REPORTS = "Reporting questions is not available in this run."


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


# -- /quiz (bot/adapters/console/games.py) ----------------------------------------------------

GAME_LEFT_RUNNING = (
    "Your game is still running: it goes on where it stands when you start the console "
    "again (a question whose time ran out is revealed). /quiz stop ends it."
)


def seconds_left(seconds: int) -> str:
    return f"⏱ {seconds} s left"


def prompt_left(seconds: int) -> str:
    return f"⏱ {seconds} s > "


# -- a community's own questions (bot/adapters/console/community.py) --------------------------

NO_COMMUNITY = "Your own questions (/questions, /propose) are not available in this run."
QUESTIONS_USAGE = (
    "Use /questions list, /questions import path/to/file.toml, /questions export [topic], "
    "/questions remove TOPIC, /questions pending, /questions approve N or /questions reject N."
)
PROPOSE_START = "Proposing a question: answer each prompt on its own line (/cancel stops)."
PROPOSE_CANCELLED = "Proposal cancelled; nothing was sent."
_STEP_HINTS = {
    "right": "Which option is right? (A, B, C or D)",
    "topic": "Topic (one of your topics, or leave empty for 'proposals')",
}


def propose_step(step: str) -> str:
    return _STEP_HINTS.get(step, f"{step[0].upper()}{step[1:]}:")


def decide_hint(proposal_id: str) -> str:
    return f"/questions approve {proposal_id} or /questions reject {proposal_id}"


def exported(path: str) -> str:
    return f"Written: {path} (edit it and /questions import it again to replace the topic)"


def cannot_read(path: str, why: str) -> str:
    return f"Cannot read {path[:200]}: {why}. Nothing was imported."
