"""Migrations under concurrency, and which files are Stackprep's (PRAGMA application_id)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.common.errors import StorageUnavailable
from bot.storage.sqlite import SCHEMA_VERSION, Database
from bot.storage.sqlite.migrations import APPLICATION_ID, OUR_TABLES, migrations, statements

ROOT = Path(__file__).resolve().parents[2]
# Each process imports everything first, says "ready", and opens the database only when told:
# so they all migrate the fresh file at the same moment, as two starts at once do.
CHILD = """
import asyncio, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
from bot.storage.sqlite import Database
print("ready", flush=True)
sys.stdin.readline()
async def main():
    db = Database(sys.argv[1])
    await db.open()
    await db.close()
asyncio.run(main())
"""
PROCESSES = 6


def _start_at_once(path: Path) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(PROCESSES)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        results.append((child.returncode, out))
    return results


def test_processes_starting_at_once_on_a_fresh_file_all_migrate_it_once(tmp_path: Path) -> None:
    for attempt in range(2):
        path = tmp_path / f"fresh{attempt}.db"
        results = _start_at_once(path)
        failed = [out for code, out in results if code != 0]
        assert not failed, failed[0]
        output = "".join(out for _, out in results)
        for version, _ in migrations():  # each migration applied by exactly one process
            assert output.count(f"migrated to schema version {version}\n") == 1, output
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        conn.close()


def test_statements_keep_trigger_bodies_whole() -> None:
    script = """-- a comment; with a semicolon
CREATE TABLE a (x);
CREATE TRIGGER t AFTER INSERT ON a BEGIN
    UPDATE a SET x = 1; UPDATE a SET x = 2;
END;
INSERT INTO a VALUES (';');  -- trailing
"""
    found = statements(script)
    assert len(found) == 3
    assert found[1].startswith("CREATE TRIGGER") and found[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        statements("CREATE TABLE b (x")
    for _, sql in migrations():  # every shipped migration splits into complete statements
        assert all(sqlite3.complete_statement(s) for s in statements(sql))


@given(st.text(alphabet=st.sampled_from(list("ab ;'\"-\n()ENDBGI")), max_size=80))
def test_statements_of_any_text_are_complete_or_refused(script: str) -> None:
    try:
        found = statements(script)
    except ValueError:
        return
    assert all(sqlite3.complete_statement(s) for s in found)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_new_file_is_marked_as_stackprep_s(tmp_path: Path) -> None:
    db = Database(tmp_path / "new.db")
    await db.open()
    assert (await db.read("PRAGMA application_id"))[0][0] == APPLICATION_ID
    await db.close()


async def test_an_older_stackprep_file_is_adopted_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version, sql in migrations()[:3]:
        conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;")
    conn.execute("INSERT INTO players (id, name, created_at) VALUES (1, 'Ada', 0)")
    conn.close()
    db = Database(path)
    await db.open()
    assert (await db.read("PRAGMA application_id"))[0][0] == APPLICATION_ID
    assert (await db.read("PRAGMA user_version"))[0][0] == SCHEMA_VERSION
    assert (await db.read("SELECT name FROM players"))[0][0] == "Ada"
    await db.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        ("PRAGMA application_id = 1179603525; CREATE TABLE notes (x);", "another program"),
        ("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');", "notes"),
        ("CREATE TABLE players (x); CREATE TABLE bills (y); PRAGMA user_version = 3;", "bills"),
        ("PRAGMA user_version = 3;", "marked with schema version 3"),
    ],
)  # fmt: skip
async def test_another_program_s_file_is_refused_and_left_as_it_was(
    tmp_path: Path, make: str, says: str
) -> None:
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    conn.executescript(make)
    conn.close()
    before = _digest(path)
    with pytest.raises(StorageUnavailable) as refused:
        await Database(path).open()
    assert str(path) in refused.value.message and says in refused.value.message
    assert "will not write to it" in refused.value.message
    assert _digest(path) == before
    assert _names(tmp_path) == ["theirs.db", "theirs.db.lock"]


def test_our_tables_are_every_table_the_migrations_create() -> None:
    assert {"players", "answers", "scores", "daily_claims", "practice_cards"} <= OUR_TABLES
