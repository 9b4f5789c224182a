"""`/mock` in the console as a user runs it: a subprocess, piped stdin, a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.adapters.console.test_console_practice import right_letter
from tests.fakes.console import run_console


def test_a_mock_interview_in_the_console_end_to_end(tmp_path: Path) -> None:
    target = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    first = run_console(tmp_path, f"/plan {target} beta\n/mock\n")
    assert first.returncode == 0, first.stderr
    out = first.stdout.replace("\n", " ")
    assert "Mock interview: 2 questions on Beta topic" in out
    assert "You have 30 minutes" in out
    assert "Practice 1/2 · multiple choice" in first.stdout

    # a new process picks up the running mock where it was
    second = run_console(
        tmp_path,
        f"{right_letter(first.stdout)}\nNo idea, honestly: I have never had to think about it.\n"
        "/help\n",
    )
    assert second.returncode == 0, second.stderr
    out = second.stdout.replace("\n", " ")
    assert "Right!" in out
    assert "Practice 2/2 · in your own words" in out
    assert "Answer noted (2 of 2)" in out
    assert "Rate your recall" not in out  # no rating step in a mock
    assert "Mock interview report" in out
    assert "Beta topic: 1/2 right; open answers 0% on average. Verdict: review Beta topic" in out
    assert "Ready in 0 of 1 topic." in out
    assert "/mock — a timed mock interview" in out  # in /help
