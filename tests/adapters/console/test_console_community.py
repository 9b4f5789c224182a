"""The console's own questions: `/questions` and `/propose`, as a user runs them (a
subprocess, piped stdin, a real SQLite file) and in process against both stores for the
refusals that must change nothing."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

from rich.console import Console

from bot.adapters.console.adapter import ConsoleAdapter
from bot.app.bootstrap import App
from bot.core.bank.library import CONSOLE_SCOPE
from tests.fakes.community import community_file
from tests.fakes.console import run_console


def console_of(app: App, screen: io.StringIO, folder: Path) -> ConsoleAdapter:
    return ConsoleAdapter(
        app.quiz, console=Console(file=screen, width=200), user_id="ada",
        community=app.community, files_dir=folder,
    )  # fmt: skip


def test_import_ask_propose_approve_and_export_in_the_console(tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_bytes(community_file())
    out = run_console(
        tmp_path,
        "/questions import acme.toml\n"
        "/questions list\n"
        "/question acme-stack\n"
        '/propose "Which port does the API use?" | 80 | 443 | 22 | 25 | b | TLS. \n'
        "/questions pending\n"
        "/questions approve 1\n"
        "/questions approve 1\n"
        "/questions export proposals\n"
        "/help\n",
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Imported 2 question(s) into Acme stack (acme-stack)" in text
    assert "This community's own questions: 2 of 500" in text
    assert "Which tool runs Acme background jobs" in text
    assert "Thanks! Your question waits for the admins of this community" in text
    assert "Proposal #1 by " in text and "✅ B. 443" in text
    assert "/questions approve 1 or /questions reject 1" in text
    assert "Proposal #1 approved: added to Members' proposals (proposals)" in text
    assert "Good news: the question you proposed" in text  # the proposer is at the terminal
    assert "Proposal #1 was already approved by" in text
    exported = tmp_path / "proposals.toml"
    assert f"Written: {exported}" in text
    data = tomllib.loads(exported.read_text(encoding="utf-8"))
    assert data["questions"][0]["id"] == "which-port-does-the-api-use"
    assert "/propose — suggest a question" in text  # in /help
    again = run_console(tmp_path, "/question proposals\n").stdout  # kept across a restart
    assert "Which port does the API use?" in again


async def test_propose_one_prompt_at_a_time(app: App, tmp_path: Path) -> None:
    screen = io.StringIO()
    console = console_of(app, screen, tmp_path)
    await console.handle("/propose")
    await console.handle("What does HTTP 418 mean?")
    await console.handle("/cancel")
    assert "Proposal cancelled; nothing was sent." in screen.getvalue()
    for line in ("/propose", "What does HTTP 418 mean?", "I'm a teapot", "Not found", "",
                 "Gone", "A", "An April Fools' joke of RFC 2324.", ""):  # fmt: skip
        await console.handle(line)
    out = screen.getvalue()
    assert "Option A:" in out and "Which option is right? (A, B, C or D)" in out
    assert "The option C is empty." in out  # refused at the end, every problem named
    assert await app.community.store.pending_count(CONSOLE_SCOPE) == 0
    for line in ("/propose", "What does HTTP 418 mean?", "I'm a teapot", "Not found", "Moved",
                 "Gone", "a", "An April Fools' joke of RFC 2324.", ""):  # fmt: skip
        await console.handle(line)
    assert "Thanks! Your question waits" in screen.getvalue()
    (waiting,) = await app.community.store.pending(CONSOLE_SCOPE, 5)
    assert waiting.fields.right == 0 and waiting.fields.topic is None


async def test_files_that_cannot_be_imported_change_nothing(app: App, tmp_path: Path) -> None:
    screen = io.StringIO()
    console = console_of(app, screen, tmp_path)
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(2 * 1024 * 1024)  # sparse: over the limit, and never read
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    for line in ("/questions import big.toml", "/questions import missing.toml",
                 f"/questions import {tmp_path / 'photo.png'}", "/questions remove nothing",
                 "/questions frobnicate", "/questions approve x"):  # fmt: skip
        await console.handle(line)
    out = screen.getvalue()
    assert "big.toml: the file is 2.0 MB; the limit is 1 MB" in out
    assert "Cannot read missing.toml: No such file or directory. Nothing was imported." in out
    assert "photo.png: not a text file (byte 1 is not UTF-8)" in out
    assert "Your community has no topic 'nothing'" in out
    assert out.count("Use /questions list, /questions import") == 2
    assert app.community.library.community(CONSOLE_SCOPE) is None
    assert await app.community.store.all_topics() == []
