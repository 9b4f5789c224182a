"""The schema: numbered SQL files in `sql/`, applied in order, tracked in `PRAGMA user_version`.

Each file is applied at start in one transaction of its own, so a failure leaves the file at
the last version that applied completely. A shipped migration is never edited: a change is a
new file with the next number.
"""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources

import aiosqlite

log = logging.getLogger(__name__)


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every shipped migration, in order."""
    folder = resources.files("bot.storage.sqlite") / "sql"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = migrations()[-1][0]


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply every migration newer than the file's `user_version`; return the version."""
    rows = await conn.execute_fetchall("PRAGMA user_version")
    current = int(next(iter(rows))[0])
    if current > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"the database has schema version {current}, newer than this Stackprep "
            f"({SCHEMA_VERSION}); upgrade Stackprep"
        )
    for version, sql in migrations():
        if version <= current:
            continue
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        log.info("database migrated to schema version %d", version)
        current = version
    return current
