"""The bot and the operator's tools on PostgreSQL, as an operator meets them: a server that is
down at start, a database that is someone else's, a URL with a password that must never be
shown, and the SQLite-only tools saying what to use instead."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from bot.cli.entry import main
from bot.storage.postgres import SCHEMA_VERSION
from tests.fakes.postgres import fresh_schema, in_schema, server_url

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Sw0rdfish-Secret"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def _one_line(err: str) -> str:
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("stackprep: ")
    return err


def _no_password(text: str) -> None:
    for form in (PASSWORD, PASSWORD.lower(), PASSWORD.upper(), quote(PASSWORD)):
        assert form not in text


def test_the_bot_with_postgresql_down_exits_1_with_one_line_and_no_password(
    tmp_path: Path,
) -> None:
    """`stackprep run` as a supervisor starts it: one line on stderr, exit 1 (so it is
    restarted once the server is back), the password nowhere."""
    url = f"postgresql://stackprep:{PASSWORD}@127.0.0.1:{closed_port()}/stackprep"
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "STACKPREP_DATABASE_URL": url,
        "STACKPREP_DISCORD_TOKEN": "", "STACKPREP_TELEGRAM_TOKEN": "",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1, done
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot be reached" in err[0] or "Connect call failed" in err[0], err[0]
    assert "127.0.0.1" in err[0]
    _no_password(done.stderr + done.stdout)


async def test_migrate_names_the_schema_version_and_a_wrong_password_is_not_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_schema() as url:
        monkeypatch.setenv("STACKPREP_DATABASE_URL", url)
        assert await _main(["db", "migrate"]) == 0
        assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
        for command in (["db", "backup", "copy.db"], ["db", "restore", "x.db"], ["db", "check"]):
            assert await _main(command) == 1
            assert "pg_dump" in _one_line(capsys.readouterr().err)


async def test_a_database_of_someone_elses_is_refused_and_left_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_schema() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE invoices (id integer PRIMARY KEY)")
            monkeypatch.setenv("STACKPREP_DATABASE_URL", url)
            assert await _main(["db", "migrate"]) == 1
            err = _one_line(capsys.readouterr().err)
            assert "invoices" in err and "not Stackprep's" in err
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            assert [t["tablename"] for t in tables] == ["invoices"]  # nothing written
        finally:
            await conn.close()


async def test_a_wrong_password_is_one_line_without_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server rejects the role (the test cluster trusts every local login, so a role
    that does not exist stands in for a wrong password)."""
    base = server_url()
    host = base.split("@", 1)[1]
    monkeypatch.setenv(
        "STACKPREP_DATABASE_URL",
        in_schema(f"postgresql://nobody_here:{quote(PASSWORD)}@{host}", "public"),
    )
    assert await _main(["db", "migrate"]) == 1
    err = _one_line(capsys.readouterr().err)
    assert "nobody_here" in err
    _no_password(err)


def test_a_password_in_the_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "stackprep.toml"
    config.write_text(f'[database]\nurl = "postgresql://u:{PASSWORD}@db:5432/stackprep"\n')
    monkeypatch.setenv("STACKPREP_CONFIG", str(config))
    monkeypatch.delenv("STACKPREP_DATABASE_URL", raising=False)
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert "STACKPREP_DATABASE_URL" in err and "password" in err
    _no_password(err)


async def _main(argv: list[str]) -> int:
    """`main` runs its own event loop: off this test's loop, in a thread."""
    import asyncio

    return await asyncio.to_thread(main, argv)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://stackprep@127.0.0.1?password={PASSWORD}",  # names no database
        f"postgresql://stackprep:pa/{PASSWORD}@127.0.0.1/stackprep",  # an unencoded /
        f"postgresql://stackprep:{PASSWORD}#x@127.0.0.1/stackprep",  # an unencoded #
        f"postgresql://stackprep:p@ss:{PASSWORD}@127.0.0.1:5432/stackprep",  # an unencoded @
    ],
)
def test_a_refused_url_from_the_environment_is_not_echoed(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The variable may carry the password: a URL the configuration refuses is named, never
    shown (URL parsers disagree on where an unencoded @ / ? # ends the user part, so those are
    refused before the driver could take part of the password for the host)."""
    monkeypatch.setenv("STACKPREP_DATABASE_URL", url)
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert "STACKPREP_DATABASE_URL" in err and "not shown" in err
    _no_password(err)


async def test_any_failure_to_open_is_one_line_without_the_password() -> None:
    """Even an error of the driver's own parsing (not a fault of the server) becomes one
    line naming the database without its password."""
    from bot.core.common.errors import StorageUnavailable
    from bot.storage.postgres import PgDatabase

    db = PgDatabase(f"postgresql://stackprep:p@ss:{PASSWORD}@127.0.0.1:5432/stackprep")
    with pytest.raises(StorageUnavailable) as caught:
        await db.open()
    assert str(caught.value).startswith("Cannot open the database postgresql://")
    _no_password(str(caught.value))
