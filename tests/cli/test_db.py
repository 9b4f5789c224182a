"""`stackprep db backup|check|restore` through `main`, as an operator runs them: exit codes,
one line on stderr for a failure (never a traceback), no partial file left behind."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.storage.sqlite import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated database, configured through STACKPREP_DATABASE_PATH."""
    path = tmp_path / "data" / "stackprep.db"
    monkeypatch.setenv("STACKPREP_DATABASE_PATH", str(path))
    monkeypatch.delenv("STACKPREP_DATABASE", raising=False)
    assert main(["db", "migrate"]) == 0
    return path


def _failure(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a failed command printed on stderr."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("stackprep: ")
    return err


def test_backup_failures_are_one_line_and_leave_nothing(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capsys.readouterr()
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n")
    assert main(["db", "backup", str(notes)]) == 1
    assert "not a Stackprep database; refusing to overwrite it" in _failure(capsys)
    assert notes.read_text() == "keep me\n"
    assert main(["db", "backup", str(tmp_path)]) == 1
    assert "is a directory: give the backup's file name" in _failure(capsys)
    assert main(["db", "backup", str(notes / "copy.db")]) == 1
    assert "Cannot write to" in _failure(capsys)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 300)
    monkeypatch.setenv("STACKPREP_DATABASE_PATH", str(junk))
    assert main(["db", "backup", str(tmp_path / "copy.db")]) == 1
    assert f"Database {junk} is not a SQLite database." in _failure(capsys)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".partial")]
    assert leftovers == [] and not (tmp_path / "copy.db").exists()


def test_backup_then_check(live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.db"
    assert main(["db", "backup", str(copy)]) == 0
    assert f"to {copy} (" in capsys.readouterr().out
    assert main(["db", "check"]) == 0
    assert f"{live}: ok (quick_check; schema version {SCHEMA_VERSION})" in capsys.readouterr().out
    assert main(["db", "check", "--full", str(copy)]) == 0
    assert f"{copy}: ok (integrity_check" in capsys.readouterr().out


def test_check_reports_damage_with_exit_1(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(live)
    with conn:
        rows = ((f"P{i}",) for i in range(3000))
        conn.executemany("INSERT INTO players (name, created_at) VALUES (?, 0)", rows)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'players'").fetchone()[0]
    conn.close()
    data = bytearray(live.read_bytes())
    data[(root - 1) * 2048 + 8 : root * 2048] = bytes(range(256)) * 7 + bytes(2040 - 1792)
    live.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["db", "check"]) == 1
    out = capsys.readouterr().out
    assert f"{live}: damaged: quick_check found" in out and "stackprep db restore" in out
    missing = tmp_path / "missing.db"
    assert main(["db", "check", str(missing)]) == 1
    assert f"There is no database at {missing}." in _failure(capsys)


def test_restore_refuses_while_the_bot_runs_then_restores(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.db"
    assert main(["db", "backup", str(copy)]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bot = subprocess.Popen(  # the console quiz: it holds the database open until its input ends
        [sys.executable, "-m", "bot", "console"], cwd=ROOT, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert bot.stdout is not None and bot.stdout.readline()  # its welcome: it is serving
        capsys.readouterr()
        assert main(["db", "restore", str(copy)]) == 1
        assert "Stackprep is running on" in _failure(capsys)
        assert not list(live.parent.glob("*before-restore*"))
    finally:
        bot.communicate("", timeout=30)
    assert bot.returncode == 0
    assert main(["db", "restore", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"restored {copy} as {live} (checked); the database it replaced is kept as" in out
    assert len(list(live.parent.glob("stackprep.db.before-restore-*"))) == 1
    assert main(["db", "check"]) == 0


def test_a_database_the_bot_cannot_use_exits_1_not_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Storage refusals end with exit 1, so a supervisor restarts (a lock or a restore
    passes); 2 is kept for a configuration the operator must fix, which systemd's unit does
    not restart (RestartPreventExitStatus=2)."""
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.close()
    monkeypatch.setenv("STACKPREP_DATABASE_PATH", str(foreign))
    monkeypatch.delenv("STACKPREP_DATABASE", raising=False)
    assert main(["daily", "list"]) == 1
    err = capsys.readouterr().err
    assert str(foreign) in err and "Traceback" not in err
