"""The console quiz as a user runs it: a real subprocess, piped stdin, a real SQLite file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.console import answer_all_right, run_console
from tests.fakes.paths import REPO, TEST_BANK


def test_console_quiz_and_score_survive_a_restart(tmp_path: Path) -> None:
    first = run_console(tmp_path, "/question beta junior\n")
    assert first.returncode == 0, first.stderr
    assert "Which HTTP method is defined as safe?" in first.stdout
    # the round is stored; a new process answers a fresh question, then checks the score
    second = run_console(tmp_path, "/question beta junior\n")
    letter = answer_all_right(second.stdout)
    third = run_console(tmp_path, f"/question beta junior\n{letter}\n/score\n/quit\n")
    assert "Right!" in third.stdout or "Not quite" in third.stdout
    fourth = run_console(tmp_path, "/score\n/leaderboard all\n")
    assert re.search(r"Answered: 1, right: [01]", fourth.stdout)
    assert "Bye! Your score is saved." in fourth.stdout


def test_console_shows_code_answers_and_handles_bad_input(tmp_path: Path) -> None:
    out = run_console(
        tmp_path,
        "/question alpha mid\nZ\nB\nB\n/question nosuchtopic\n/question alpha 9\n/frobnicate\n"
        "/topics\n/help\n",
    ).stdout
    assert "ys.append(3)" in out  # the code block is shown
    assert "This question has no option" not in out  # Z is not a label: unknown command
    assert "Unknown command 'Z'" in out
    assert "There is no open question" in out  # the second B: already answered
    assert "I don't know the topic 'nosuchtopic'" in out
    assert "Difficulty must be 1, 2 or 3" in out
    assert "2 topics, 5 questions" in out
    assert "/leaderboard" in out


def test_console_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "q.db"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("/question\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while "Answer with" not in proc.stdout.readline() and time.monotonic() < deadline:
        pass
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    proc.stdin.close()
    proc.stdout.close()
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()
    proc.stderr.close()


def test_broken_question_file_fails_at_start_naming_file_and_id(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    text = (TEST_BANK / "beta.toml").read_text().replace('text = "GET"', f'text = "{"G" * 90}"')
    (bank / "beta.toml").write_text(text)
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{bank}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config)],
        input="", capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "beta.toml: beta-one choice 1: 'text' is 90 characters; the limit is 80" in result.stderr


def test_repo_default_starts_with_shipped_bank(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env["STACKPREP_DATABASE"] = str(tmp_path / "q.db")
    result = subprocess.run(
        [sys.executable, "-m", "bot"], input="/topics\n", capture_output=True, text=True,
        timeout=60, cwd=REPO, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"\d+ topics, \d+ questions", result.stdout)


def test_console_exits_when_its_reader_goes_away(tmp_path: Path) -> None:
    """`stackprep | head -1`: the closed pipe ends the quiz cleanly instead of hanging."""
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "q.db"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "console"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # the welcome
    proc.stdout.close()  # the reader goes away, like `head -1`
    proc.stdin.write("/topics\n" * 50)
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert "Traceback" not in proc.stderr.read()
    proc.stderr.close()
