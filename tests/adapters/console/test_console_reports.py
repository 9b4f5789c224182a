"""`/report [reason] [note]` in the console about the last question shown, and the "Learn more"
URL under results: as a user runs it (a subprocess, piped stdin, a real SQLite file), and in
process against both stores for the refusals that must change nothing."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from rich.console import Console

from bot.adapters.console.adapter import ConsoleAdapter
from bot.app.bootstrap import App
from bot.core.quiz.reports import Reason
from tests.fakes.console import answer_all_right, run_console


def console_of(app: App, screen: io.StringIO, user: str = "ada") -> ConsoleAdapter:
    return ConsoleAdapter(
        app.quiz, console=Console(file=screen, width=200), user_id=user,
        practice=app.practice, reports=app.reports,
    )  # fmt: skip


def test_report_the_last_question_in_the_console(tmp_path: Path) -> None:
    first = run_console(tmp_path, "/report wrong\n/question beta junior\n")
    assert first.returncode == 0, first.stderr
    assert "There is no question to report yet" in first.stdout
    letter = answer_all_right(first.stdout)
    out = run_console(
        tmp_path,
        f"/question beta junior\n{letter}\n/report\n/report sideways it is odd\n"
        "/report outdated RFC 9110 replaced 7231\n/report typo\n/help\n",
    ).stdout
    assert "Learn more: https://www.rfc-editor.org/rfc/rfc9110#name-" in out
    assert "Something wrong with it? /report wrong|unclear|outdated|typo|other [note]" in out
    assert "Report the last question shown: /report wrong|unclear|outdated|typo|other" in out
    assert "I don't know the reason 'sideways'" in out
    assert "Thanks! Your report #1 (Outdated with your note) is saved" in out
    assert "You already reported this question" in out
    assert "/report REASON [note]" in out  # in /help
    conn = sqlite3.connect(tmp_path / "q.db")
    try:
        rows = conn.execute(
            "SELECT question_id, platform, place, reason, note, state FROM question_reports"
        ).fetchall()
    finally:
        conn.close()
    (row,) = rows
    assert row[1:] == ("console", "console:console", "outdated", "RFC 9110 replaced 7231", "open")
    assert row[0].startswith("beta-")


async def test_console_refusals_change_nothing(app: App) -> None:
    screen = io.StringIO()
    console = console_of(app, screen)
    await console.handle("/report wrong")  # nothing shown yet
    await console.handle("/question alpha mid")
    await console.handle("/report nonsense")
    await console.handle(f"/report typo {'x' * 501}")
    await console.handle("/report")
    out = screen.getvalue()
    assert "There is no question to report yet" in out
    assert "I don't know the reason 'nonsense'" in out
    assert "Your note is 501 characters; the limit is 500" in out
    assert "Report the last question shown" in out
    assert await app.reports.store.reports(open_only=False) == []

    # a practice multiple-choice question is reportable too (it has a round)
    await console.handle("/practice beta")
    await console.handle("/report UNCLEAR two options are both right")
    (stored,) = await app.reports.store.reports(open_only=False)
    assert stored.reason is Reason.UNCLEAR and stored.question_id.startswith("beta-")
    assert stored.note == "two options are both right"
