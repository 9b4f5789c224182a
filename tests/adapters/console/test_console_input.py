"""The console's input as people really give it: lines of any size and any bytes, through a
pipe and from a regular file; escapes in what it echoes; a busy database; /remind (issue 18,
items 5, 16, 17 and 25)."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO

import pytest
from rich.console import Console

from bot.adapters.console.adapter import CHAT, ConsoleAdapter
from bot.adapters.console.lines import LINE_MAX
from bot.app.bootstrap import App, build
from bot.config import DatabaseConfig
from bot.core.common.identity import Platform, UserRef
from bot.core.practice.service import PracticeService
from bot.storage.sqlite import writer
from tests.fakes.app import make_config
from tests.fakes.clock import FixedClock
from tests.fakes.paths import TEST_BANK

TOO_LONG = f"That line is longer than {LINE_MAX // 1024} KiB, so it was ignored"


def console_process(tmp_path: Path, stdin: bytes | IO[bytes]) -> subprocess.CompletedProcess[str]:
    """`python -m bot` (the console) with `stdin` as a pipe (bytes) or an open file."""
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "q.db"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env["COLUMNS"] = "200"
    piped = isinstance(stdin, bytes)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config)],
        input=stdin if piped else None, stdin=None if piped else stdin,
        capture_output=True, timeout=60, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def went_on(result: subprocess.CompletedProcess[str]) -> None:
    """The session read on to the end: /topics after the bad line ran, no traceback."""
    assert result.returncode == 0, result.stderr
    assert "2 topics, 5 questions" in result.stdout
    assert "Bye! Your score is saved." in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_an_overlong_line_is_refused_and_the_quiz_goes_on(tmp_path: Path) -> None:
    line = b"/question " + b"y" * (3 * LINE_MAX) + b" /score"
    piped = console_process(tmp_path, b"/help\n" + line + b"\n/topics\n")
    went_on(piped)
    assert TOO_LONG in piped.stdout
    assert "Unknown command" not in piped.stdout  # the rest of the line never ran as a command
    assert "Your points" not in piped.stdout and "Points:" not in piped.stdout
    (tmp_path / "in.txt").write_bytes(b"/help\n" + line + b"\n/topics\n")
    with (tmp_path / "in.txt").open("rb") as stdin:
        from_file = console_process(tmp_path, stdin)
    went_on(from_file)
    assert TOO_LONG in from_file.stdout and "Unknown command" not in from_file.stdout


def test_invalid_utf8_is_refused_the_same_from_a_pipe_and_a_file(tmp_path: Path) -> None:
    data = b"/help\n\xff\xfe/score\n/question caf\xe9\n/topics"  # no final newline either
    piped = console_process(tmp_path, data)
    went_on(piped)
    (tmp_path / "latin1.txt").write_bytes(data)
    with (tmp_path / "latin1.txt").open("rb") as stdin:
        from_file = console_process(tmp_path, stdin)
    went_on(from_file)
    for out in (piped.stdout, from_file.stdout):
        assert "That line is not UTF-8 text (byte 0xff at position 0)" in out
        assert "That line is not UTF-8 text (byte 0xe9 at position 13)" in out
        assert "Points:" not in out and "Unknown command" not in out


def test_escapes_in_arguments_are_shown_not_run(tmp_path: Path) -> None:
    longest = b"/question " + b"z" * (LINE_MAX - len(b"/question "))  # just fits
    data = "/question \x1b[2J\x1b[31mred\n/leaderboard \u202eevil\n".encode()
    result = console_process(tmp_path, data + longest + b"\n/topics\n")
    went_on(result)
    assert TOO_LONG not in result.stdout and "I don't know the topic 'zzz" in result.stdout
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "I don't know the topic '\\x1b[2J\\x1b[31mred'" in result.stdout
    assert "\\u202eevil" in result.stdout


async def test_other_players_names_reach_the_terminal_without_escapes(app: App) -> None:
    asked = await app.quiz.ask(UserRef(Platform.CONSOLE, "me"), "me", CHAT)
    right = next(
        b.token for b in asked.reply.choices if b.label == asked.round.correct_label(asked.question)
    )
    await app.quiz.answer(UserRef(Platform.DISCORD, "9"), "\x1b]0;owned\x07\x1b[5mEve", right)
    await app.quiz.answer(UserRef(Platform.TELEGRAM, "8"), "\u202eعمر", right)
    screen = io.StringIO()
    console = ConsoleAdapter(app.quiz, console=_screen(screen), user_id="me")
    await console.handle("/leaderboard global all")
    assert "\x1b" not in screen.getvalue() and "\x07" not in screen.getvalue()
    assert "1. ]0;owned[5mEve — " in screen.getvalue()
    assert "1. \u2068عمر\u2069 — " in screen.getvalue()  # isolated, not shown as escapes


async def test_a_busy_database_keeps_the_question_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is locked by another program while the answer is written: the person
    hears it is busy, and the same question takes their answer once it is free again."""
    monkeypatch.setattr(writer, "RETRY_FOR", 0.2)  # give up on the lock quickly
    config = make_config(tmp_path)
    config = replace(config, database=DatabaseConfig(config.database.path, busy_timeout_ms=20))
    async with build(config, storage="sqlite", clock=FixedClock()) as app:
        screen = io.StringIO()
        console = ConsoleAdapter(app.quiz, console=_screen(screen), user_id="ada")
        await console.handle("/question beta junior")
        blocker = sqlite3.connect(config.database.path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            await console.handle("A")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert "The quiz database is busy right now; nothing was recorded" in screen.getvalue()
        await console.handle("B")
        out = screen.getvalue()
        assert "There is no open question" not in out
        assert "Right!" in out or "Not quite" in out
        await console.handle("C")  # answered now: the question is closed
        assert "There is no open question" in screen.getvalue()


async def test_remind_says_the_console_cannot_remind(practice: PracticeService) -> None:
    screen = io.StringIO()
    console = ConsoleAdapter(
        practice.quiz, console=_screen(screen), user_id="ada", practice=practice
    )
    await console.handle("/remind 08:30 Europe/Berlin")
    assert "The console cannot remind you" in screen.getvalue()
    assert "I will remind you" not in screen.getvalue()
    player = await practice.players.player(UserRef(Platform.CONSOLE, "ada"), "ada")
    assert await practice.store.reminder(player) is None  # nothing waits to be sent


def _screen(file: io.StringIO) -> Console:
    return Console(file=file, width=200, color_system=None)
