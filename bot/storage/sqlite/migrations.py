"""The schema: numbered SQL files in `sql/`, applied in order, tracked in `PRAGMA user_version`;
and which files are ours, marked with `PRAGMA application_id`.

Each file is applied in one transaction of its own, so a failure leaves the file at the last
version that applied completely. The transaction takes the write lock (BEGIN IMMEDIATE)
before it reads `user_version`: two processes starting on one fresh file at once then apply
each migration once, where reading the version first let both see 0 and the second fail with
"table players already exists". A shipped migration is never edited: a change is a new file
with the next number.

A Stackprep database carries APPLICATION_ID in its header. A file without one is ours if it is
empty (a new file) or holds only our tables at a schema version of ours (made before the mark
existed); it is stamped then. Any other file is refused, never written to.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from importlib import resources
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

APPLICATION_ID = int.from_bytes(b"STKP", "big")  # 0x53544B50, in every Stackprep database


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every shipped migration, in order."""
    folder = resources.files("bot.storage.sqlite") / "sql"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = migrations()[-1][0]
OUR_TABLES = frozenset(
    name.lower()
    for _, sql in migrations()
    for name in re.findall(
        r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)", sql, flags=re.IGNORECASE
    )
)


class Refused(Exception):
    """The file is not one Stackprep may write; the message says why and what to do."""


def statements(script: str) -> list[str]:
    """A migration's statements, one by one (a trigger's body stays whole).

    Python's `executescript` commits any open transaction first, so a migration cannot run
    inside the BEGIN IMMEDIATE that holds the write lock that way.
    """
    found: list[str] = []
    start = 0
    for at, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : at + 1]):
            found.append(script[start : at + 1].strip())
            start = at + 1
    rest = re.sub(r"--[^\n]*", "", script[start:]).strip()
    if rest:
        raise ValueError(f"an incomplete statement at the end of a migration: {rest[:60]!r}")
    return found


async def _one(conn: aiosqlite.Connection, sql: str) -> Any:
    rows = await conn.execute_fetchall(sql)
    return next(iter(rows))[0]


async def identify(conn: aiosqlite.Connection) -> int:
    """The file's schema version if Stackprep may use it; else Refused. Writes nothing.

    Ours: our application_id; or none yet and either an empty file (new) or only our tables
    at a schema version of ours (a database made before the mark existed). Read in one
    snapshot (another process may be migrating the file meanwhile).
    """
    if conn.in_transaction:
        return await _identify(conn)
    await conn.execute("BEGIN")
    try:
        return await _identify(conn)
    finally:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")


async def _identify(conn: aiosqlite.Connection) -> int:
    app_id = int(await _one(conn, "PRAGMA application_id"))
    version = int(await _one(conn, "PRAGMA user_version"))
    if app_id not in (0, APPLICATION_ID):
        raise Refused(
            f"it belongs to another program (application_id 0x{app_id & 0xFFFFFFFF:08X}, "
            f"Stackprep's is 0x{APPLICATION_ID:08X}); Stackprep will not write to it. Set "
            "[database] path to a file of its own (a new path creates one)."
        )
    if app_id == 0:
        rows = await conn.execute_fetchall(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
        tables = {str(name).lower() for kind, name in rows if kind == "table"}
        if rows and (version < 1 or "players" not in tables or not tables <= OUR_TABLES):
            foreign = sorted(tables - OUR_TABLES) or sorted(tables)
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise Refused(
                f"it is not a Stackprep database (it holds tables of another program: "
                f"{shown or 'none, but other objects'}); Stackprep will not write to it. Set "
                "[database] path to a file of its own (a new path creates one)."
            )
        if not rows and version != 0:
            raise Refused(
                f"it is not a Stackprep database (empty, but marked with schema version "
                f"{version} by another program); Stackprep will not write to it."
            )
    if version > SCHEMA_VERSION:
        raise Refused(
            f"the database has schema version {version}, newer than this Stackprep "
            f"({SCHEMA_VERSION}); upgrade Stackprep"
        )
    return version


async def migrate(conn: aiosqlite.Connection) -> int:
    """Mark the file as ours and apply every migration newer than its `user_version`, each in
    a transaction that holds the write lock before it reads the version; return the version.
    Raises Refused for a file that is not ours or is newer than this code."""
    while True:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current = await identify(conn)
            if int(await _one(conn, "PRAGMA application_id")) == 0:
                await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                if current:
                    log.info("marked the database (schema version %d) as Stackprep's", current)
            pending = [(v, sql) for v, sql in migrations() if v > current]
            if pending:
                version, sql = pending[0]
                for statement in statements(sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {version}")
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        if not pending:
            return current
        log.info("database migrated to schema version %d", version)
