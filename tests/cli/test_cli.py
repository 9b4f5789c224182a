from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.storage.sqlite import SCHEMA_VERSION
from tests.fakes.paths import TEST_BANK


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("stackprep ")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "questions" in capsys.readouterr().out


def test_questions_check_ok_and_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["questions", "check", str(TEST_BANK)]) == 0
    assert "OK: 5 questions in 2 topics" in capsys.readouterr().out
    broken = tmp_path / "beta.toml"
    broken.write_text((TEST_BANK / "beta.toml").read_text().replace("correct = true", "", 1))
    assert main(["questions", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "beta.toml: beta-one: needs exactly one right choice, has 0" in out


def test_questions_stats_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["questions", "stats", str(TEST_BANK)]) == 0
    out = capsys.readouterr().out
    assert "5 questions in 2 topics" in out and "with code" in out


def test_db_migrate_and_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STACKPREP_DATABASE", str(tmp_path / "live.db"))
    assert main(["db", "migrate"]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["db", "backup", str(tmp_path / "copy.db")]) == 0
    conn = sqlite3.connect(tmp_path / "copy.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    monkeypatch.setenv("STACKPREP_DATABASE", str(tmp_path / "missing.db"))
    assert main(["db", "backup", str(tmp_path / "x.db")]) == 1
    assert "There is no database" in capsys.readouterr().err


def test_config_error_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[quiz]\nasks_per_minute = 0\n")
    assert main(["--config", str(bad), "questions", "check"]) == 2
    assert "[quiz] asks_per_minute = 0: expected a whole number from 1 to 1000" in (
        capsys.readouterr().err
    )
