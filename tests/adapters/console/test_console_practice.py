"""Practice in the console as a user runs it: a subprocess, piped stdin, a real SQLite file."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bot.adapters.console.adapter import ConsoleAdapter
from bot.core.common.identity import Platform, UserRef
from bot.core.practice.ports import Awaiting
from bot.core.practice.service import PracticeService
from tests.fakes.console import run_console

RIGHT = {"len()", "[1, 2, 3]", "One thread runs bytecode at a time; I/O releases the lock",
         "GET", "201 Created"}  # fmt: skip


def right_letter(out: str) -> str:
    options = re.findall(r"^([A-D])\) (.+)$", out, re.M)
    return next(label for label, text in options[-4:] if text.strip() in RIGHT)


def test_practice_in_the_console_end_to_end(tmp_path: Path) -> None:
    first = run_console(tmp_path, "/practice alpha\n")
    assert first.returncode == 0, first.stderr
    assert "Practice session on Alpha topic: 3 questions (3 new)" in first.stdout
    assert "Practice 1/3 · multiple choice" in first.stdout
    letter = right_letter(first.stdout)

    # a new process picks up the running session where it was
    out = run_console(
        tmp_path,
        f"{letter}\nNo idea.\nok\n1\n/due\n/progress\n/export\n/remind 07:45 Asia/Tokyo\n"
        "/remind\n/stop\n",
    ).stdout
    assert "Right!" in out
    assert "Practice 2/3 · in your own words" in out
    assert "Type your answer in your own words" in out
    assert "That is too short to grade" in out
    assert "1) ★ Again · 1 min   2) Hard · 6 min   3) Good · 10 min" in out
    assert "Rate your recall: 1 Again, 2 Hard, 3 Good, 4 Easy." in out
    assert "Rated Again: this question comes back in 1 min." in out
    assert "Practice 3/3 · multiple choice" in out
    assert "cards are due now" in out or "Nothing is due right now" in out
    assert "📈 Your progress" in out
    chart = tmp_path / "stackprep-progress.png"
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"Saved to {chart.resolve()}" in out.replace("\n", "")
    export = (tmp_path / "stackprep-hardest.txt").read_text(encoding="utf-8")
    assert export.startswith("#separator:tab") and "stackprep-alpha-" in export
    assert (tmp_path / "stackprep-hardest.apkg").read_bytes().startswith(b"PK")
    # the console sends nothing later, so it promises no reminder (it says so, twice)
    assert out.count("The console cannot remind you") == 2
    assert "I will remind you" not in out and "Your reminder is set" not in out
    assert "Practice stopped after 2 of 3 questions (1 recalled)" in out


def test_practice_input_errors_are_clear(tmp_path: Path) -> None:
    out = run_console(tmp_path, "/practice nosuchtopic\n/stop\n").stdout
    assert "I don't know the topic 'nosuchtopic'" in out
    assert "No practice session is running" in out
    assert "Traceback" not in out


async def test_a_letter_answers_the_question_shown_last(practice: PracticeService) -> None:
    """A running practice session and a /question: A-D (and n) go to whichever was shown
    last, never silently to the other one."""
    screen = io.StringIO()
    console = ConsoleAdapter(
        practice.quiz, console=Console(file=screen, width=200), user_id="ada", practice=practice
    )
    user = UserRef(Platform.CONSOLE, "ada")
    await console.handle("/practice")
    assert await practice.awaiting(user, "ada") is Awaiting.CHOICE
    await console.handle("/question beta")
    await console.handle("A")
    assert "Right!" in screen.getvalue() or "Not quite" in screen.getvalue()
    assert await practice.awaiting(user, "ada") is Awaiting.CHOICE  # practice still waits
    await console.handle("n")  # the next /question, not an answer to practice
    assert screen.getvalue().count("Answer with A,") == 3
    assert await practice.awaiting(user, "ada") is Awaiting.CHOICE
    await console.handle("/practice")  # shown last now: the letter is for practice
    await console.handle("B")
    assert await practice.awaiting(user, "ada") is Awaiting.TEXT


def test_plan_and_practice_weak_in_the_console(tmp_path: Path) -> None:
    target = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    out = run_console(
        tmp_path,
        f"/plan {target} beta\n/plan\n/due\n/plan 2020-01-01\n/practice weak\n/plan off\n/help\n",
    ).stdout.replace("\n", " ")
    assert f"Plan set: interview on {target} (" in out
    assert "cards to study in Beta topic (2 unseen, 0 not learned yet)" in out
    assert f"Your plan: interview on {target}" in out
    assert "🎯 Interview in " in out and "planned cards done; 2 cards left to study." in out
    assert "2020-01-01 is in the past" in out
    assert "Not enough practice to find your weak topics" in out
    assert "Plan removed." in out
    assert "/plan YYYY-MM-DD [topics]" in out and "/practice weak" in out  # in /help
