"""`stackprep db copy`: a community's SQLite file moved whole into an empty PostgreSQL database.

Both schemas keep the same tables, columns and value forms (bot/storage/postgres/sql/
0001_initial.sql says so), so every row goes across as it is, ids included:

    source   the SQLite file, opened read-only (never changed, safe while a bot runs: one
             read transaction, so one consistent snapshot); it must be a Stackprep database
             at this Stackprep's schema version (`stackprep db migrate` first)
    target   PostgreSQL, migrated first (PgDatabase.open); then ONE transaction: every table
             locked, refused unless all of them are empty, each table sent with COPY (asyncpg's
             copy_records_to_table, rows streamed from SQLite in batches) in foreign-key
             order, every identity sequence set past the highest id, then the check: each
             table's row count and the boards' totals (points, correct and answered per scope
             and period in scores; the players' totals) equal to the source's. Anything wrong
             rolls the whole transaction back, so a failed copy leaves the target empty.

The boards (scores, players' totals, topic_stats, player_days), the practice feed and `seen`
are copied as they are, not derived again: the target's triggers (answers_maintain,
rounds_mark_seen) are switched off for this transaction with `ALTER TABLE ... DISABLE TRIGGER
USER` and on again before the commit. Why that way:
- `SET session_replication_role = replica` needs a superuser, and it would switch off the
  foreign keys' checks too (they are triggers): a file with a dangling reference would copy
  silently. DISABLE TRIGGER USER leaves them on, and needs only the tables' owner (the role
  that migrated them: the bot's own).
- ALTER TABLE is transactional and holds its lock until the commit: no other session ever
  sees the triggers off, and a failure switches them back on with everything else.
- Letting the triggers rebuild the boards from the answers would not copy them: `seen` and the
  practice feed would get rows the source does not have (and collide with the copied ones),
  boards a person's history made differently (before a migration, say) would change, and a
  trigger per row is much slower than COPY.
"""

from __future__ import annotations

import asyncio
import graphlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bot.storage.postgres import PgDatabase
from bot.storage.sqlite import SCHEMA_VERSION
from bot.storage.sqlite.backup import BackupError, _existing, _reading, _unreadable
from bot.storage.sqlite.migrations import Refused, identify

BATCH = 5000  # rows read from SQLite per step
LOCK_WAIT = "15s"  # lock_timeout for the target's tables: a bot using them must be stopped
COPY_TIMEOUT = 6 * 3600.0  # seconds per statement: a big table's COPY takes a while
# PostgreSQL-only tables: the schema's version, the scheduler's leader (which process
# leads, not the community's data) and community_version (a counter the processes watch);
# neither copied nor counted
NOT_COPIED = frozenset({"stackprep_schema", "leader", "community_version"})
# rows the migrations put in a new database (both engines'), with what only those rows meet:
# such a table counts as empty while it holds nothing else, and is emptied before its copy
SEEDED = {"practice_watermark": "id = 1 AND applied = 0"}

Board = tuple[str, str]  # (scope, period)


class CopyFailed(Exception):
    """The copy could not be done; one line saying why and what to do. The source is as it
    was and the target holds nothing of it."""


@dataclass(frozen=True)
class Totals:
    """What the check compares: rows per table and the boards' sums."""

    rows: dict[str, int]
    boards: dict[Board, tuple[int, int, int]]  # (points, correct, answered) per board
    players: tuple[int, int, int]  # the players' totals: (points, correct, answered)

    def differences(self, other: Totals) -> list[str]:
        """What differs from `other`, one short phrase each."""
        found = [
            f"{t}: {self.rows.get(t)} rows, {other.rows.get(t)} copied"
            for t in sorted(self.rows.keys() | other.rows.keys())
            if self.rows.get(t) != other.rows.get(t)
        ]
        found += [
            f"board {scope} {period}: {self.boards.get((scope, period))} against "
            f"{other.boards.get((scope, period))}"
            for scope, period in sorted(self.boards.keys() | other.boards.keys())
            if self.boards.get((scope, period)) != other.boards.get((scope, period))
        ]
        if self.players != other.players:
            found.append(f"players' totals: {self.players} against {other.players}")
        return found


@dataclass(frozen=True)
class Copied:
    """A finished copy: what the source held, what the target holds (equal), how long."""

    source: Path
    target: str  # shown_url: never the password
    tables: list[str]  # the source's, in the order they were created
    totals: Totals
    seconds: float
    sequences: dict[str, int] = field(default_factory=dict)  # "table.column" -> next id


def source_path(text: str) -> Path:
    """`--from`: sqlite:///relative/path, sqlite:////absolute/path (SQLAlchemy's form) or a
    plain path; CopyFailed for anything else."""
    if text.startswith("sqlite:///"):
        rest = text[len("sqlite:///") :]
        if not rest:
            raise CopyFailed("--from sqlite:/// names no file: sqlite:///data/stackprep.db")
        return Path(rest)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        named = f"a {scheme}:// URL" if re.fullmatch(r"[A-Za-z][\w+.-]{0,30}", scheme) else "a URL"
        raise CopyFailed(
            f"--from takes a SQLite file (sqlite:///PATH or a path), not {named}: copying "
            "out of PostgreSQL is pg_dump's job"
        )
    return Path(text)


async def copy_database(source: Path, target_url: str) -> Copied:
    """Copy the Stackprep database at `source` (SQLite) into the empty one at `target_url`
    (PostgreSQL), then check it; CopyFailed (or StorageUnavailable from PgDatabase.open)
    with one line otherwise."""
    started = time.perf_counter()
    try:
        await asyncio.to_thread(_existing, source, "Source")
    except BackupError as exc:
        raise CopyFailed(str(exc)) from None
    try:
        async with _reading(source) as src:
            return await _copy(src, source, target_url, started)
    except Refused as exc:
        raise CopyFailed(f"Source {source}: {exc}") from None
    except sqlite3.Error as exc:
        raise CopyFailed(_unreadable(source, "Source", exc) + " Nothing was copied.") from None


async def _copy(src: aiosqlite.Connection, source: Path, url: str, started: float) -> Copied:
    await src.execute("BEGIN")  # one snapshot for every read, counts included
    version = await identify(src)
    if version < SCHEMA_VERSION:
        raise CopyFailed(
            f"Source {source} is at schema version {version}, this Stackprep's is "
            f"{SCHEMA_VERSION}: migrate it first (STACKPREP_DATABASE_PATH={source} "
            "stackprep db migrate), then copy"
        )
    columns = await _sqlite_columns(src)
    before = await _totals(_SqliteReader(src), list(columns))
    target = PgDatabase(url, min_size=1, max_size=1, command_timeout=COPY_TIMEOUT)
    await target.open()  # connects, refuses a foreign database, migrates
    try:
        async with target.transaction() as conn:
            try:
                sequences, after = await _fill(conn, target, src, columns)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                raise CopyFailed(
                    f"Copying into {target.url} failed, nothing was copied: {_told(target, exc)}"
                ) from None
            wrong = before.differences(after)
            if wrong:
                raise CopyFailed(
                    f"The copy in {target.url} does not match {source} ("
                    + "; ".join(wrong[:3])
                    + "); rolled back, nothing was copied"
                )
    finally:
        await target.close()
    seconds = time.perf_counter() - started
    return Copied(source, target.url, list(columns), after, seconds, sequences)


async def _fill(
    conn: asyncpg.Connection,
    target: PgDatabase,
    src: aiosqlite.Connection,
    columns: dict[str, list[str]],
) -> tuple[dict[str, int], Totals]:
    """In the target's transaction: lock, check, copy, set the sequences, count."""
    theirs = await _pg_columns(conn)
    _same_schema(columns, theirs)
    order = await _foreign_key_order(conn, list(columns))
    await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
    try:
        await conn.execute(f"LOCK TABLE {', '.join(map(_quoted, order))} IN ACCESS EXCLUSIVE MODE")
    except asyncpg.LockNotAvailableError:
        raise CopyFailed(
            f"{target.url} is in use (its tables stayed locked for {LOCK_WAIT}): stop every "
            "bot using it, then copy"
        ) from None
    filled = [  # the target's own tables too (not `leader`: who leads holds no data)
        r["name"]
        for r in await conn.fetch(
            " UNION ALL ".join(
                f"SELECT $${t}$$ AS name WHERE EXISTS (SELECT 1 FROM {_quoted(t)}"  # noqa: S608
                + (f" WHERE NOT ({SEEDED[t]})" if t in SEEDED else "")
                + ")"
                for t in sorted(theirs.keys() | set(order))
            )
        )
    ]
    if filled:
        shown = ", ".join(sorted(filled)[:4]) + (", ..." if len(filled) > 4 else "")
        raise CopyFailed(
            f"{target.url} is not empty ({shown} hold rows): `db copy` writes only into an "
            "empty database; create a new one (createdb) and copy into that"
        )
    triggered = await _with_triggers(conn, order)
    for table in triggered:
        try:
            await conn.execute(f"ALTER TABLE {_quoted(table)} DISABLE TRIGGER USER")
        except asyncpg.InsufficientPrivilegeError:
            raise CopyFailed(
                f"Only the owner of the tables in {target.url} may copy into them (the role "
                "that migrated them, the bot's own): connect as that role"
            ) from None
    for table in SEEDED:
        await conn.execute(f"DELETE FROM {_quoted(table)}")  # noqa: S608 - the source's rows
    for table in order:
        try:
            await conn.copy_records_to_table(
                table, records=_rows(src, table, columns[table]), columns=columns[table]
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TypeError) as exc:
            raise CopyFailed(
                f"Copying table {table} into {target.url} failed, nothing was copied: "
                f"{_told(target, exc)}"
            ) from None
    for table in triggered:
        await conn.execute(f"ALTER TABLE {_quoted(table)} ENABLE TRIGGER USER")
    sequences = await _reset_sequences(conn)
    return sequences, await _totals(conn, order)


# -- the schemas ------------------------------------------------------------------------------


async def _sqlite_columns(src: aiosqlite.Connection) -> dict[str, list[str]]:
    """Every table of the source and its columns, in the order they were created."""
    names = [
        str(r[0])
        for r in await src.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        )
    ]
    found: dict[str, list[str]] = {}
    for name in names:
        rows = await src.execute_fetchall(f"PRAGMA table_info({_quoted(name)})")
        found[name] = [str(r[1]) for r in rows]
    return found


async def _pg_columns(conn: asyncpg.Connection) -> dict[str, dict[str, bool]]:
    """The target's tables and columns, each column with whether a row may leave it out
    (nullable, a default or an identity)."""
    found: dict[str, dict[str, bool]] = {}
    for r in await conn.fetch(
        "SELECT table_name, column_name, is_nullable = 'YES' OR column_default IS NOT NULL "
        "OR is_identity = 'YES' AS optional FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ):
        found.setdefault(r["table_name"], {})[r["column_name"]] = r["optional"]
    return {t: c for t, c in found.items() if t not in NOT_COPIED}


def _same_schema(ours: dict[str, list[str]], theirs: dict[str, dict[str, bool]]) -> None:
    """Every source table and column in the target, which may have more of its own for
    several processes' work (a lease, a sender: left empty by the copy) when a row may leave
    them out. Else the two Stackprep schemas disagree (a bug), and nothing is copied."""
    problems = [f"table {t} is missing" for t in ours if t not in theirs]
    problems += [
        f"{t}.{c} is missing" for t, cols in ours.items() if t in theirs
        for c in cols if c not in theirs[t]
    ]  # fmt: skip
    problems += [
        f"{t}.{c} has no default" for t, cols in theirs.items()
        for c, optional in cols.items() if not optional and c not in ours.get(t, ())
    ]  # fmt: skip
    if problems:
        raise CopyFailed(
            "The SQLite and PostgreSQL schemas of this Stackprep differ ("
            + "; ".join(problems[:3])
            + "): report this as a bug; nothing was copied"
        )


async def _foreign_key_order(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """`tables` with every referenced table before the tables referring to it."""
    refs = await conn.fetch(
        "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE k.contype = 'f' AND n.nspname = current_schema()"
    )
    graph: dict[str, set[str]] = {t: set() for t in tables}
    for r in refs:
        if r["child"] in graph and r["parent"] in graph and r["child"] != r["parent"]:
            graph[r["child"]].add(r["parent"])
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=tables.index)  # the source's order among equals
        order += ready
        sorter.done(*ready)
    return order


async def _with_triggers(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """Which of `tables` have triggers of their own (not the foreign keys' checks)."""
    rows = await conn.fetch(
        "SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT g.tgisinternal AND n.nspname = current_schema()"
    )
    names = {r["relname"] for r in rows}
    return [t for t in tables if t in names]


async def _reset_sequences(conn: asyncpg.Connection) -> dict[str, int]:
    """Each identity column's sequence set to hand out max(id) + 1 next (1 for an empty
    table), so new rows never collide with copied ids. Returns what each hands out next."""
    found: dict[str, int] = {}
    for r in await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name"
    ):
        table, column = r["table_name"], r["column_name"]
        following: int = await conn.fetchval(
            f"SELECT coalesce(max({_quoted(column)}), 0) + 1 FROM {_quoted(table)}"  # noqa: S608
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence($1, $2), $3, false)", table, column, following
        )
        found[f"{table}.{column}"] = following
    return found


# -- reading and counting ---------------------------------------------------------------------


async def _rows(
    src: aiosqlite.Connection, table: str, columns: Sequence[str]
) -> AsyncIterator[tuple[Any, ...]]:
    """`table`'s rows from the source's snapshot, BATCH at a time."""
    listed = ", ".join(_quoted(c) for c in columns)
    async with src.execute(f"SELECT {listed} FROM {_quoted(table)}") as cursor:  # noqa: S608
        while batch := await cursor.fetchmany(BATCH):
            for row in batch:
                yield tuple(row)


class _SqliteReader:
    """The source as _totals reads it (asyncpg's fetch and fetchval, over aiosqlite)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str) -> list[Sequence[Any]]:
        return list(await self._conn.execute_fetchall(sql))

    async def fetchval(self, sql: str) -> Any:
        rows = await self._conn.execute_fetchall(sql)
        return next(iter(rows))[0]


async def _totals(db: _SqliteReader | asyncpg.Connection, tables: list[str]) -> Totals:
    """The same statements on either side: rows per table, the boards' and players' sums."""
    rows = {t: int(await db.fetchval(f"SELECT count(*) FROM {_quoted(t)}")) for t in tables}  # noqa: S608
    boards = {
        (str(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4]))
        for r in await db.fetch(
            "SELECT scope, period, sum(points), sum(correct), sum(answered) FROM scores "
            "GROUP BY scope, period"
        )
    }
    sums = (
        await db.fetch(
            "SELECT coalesce(sum(points), 0), coalesce(sum(correct), 0), "
            "coalesce(sum(answered), 0) FROM players"
        )
    )[0]
    return Totals(rows, boards, (int(sums[0]), int(sums[1]), int(sums[2])))


def _told(target: PgDatabase, exc: BaseException) -> str:
    """The server's one line, and its detail (which row: 'Key (player_id)=(42) is not
    present in table "players".'), without the password."""
    detail = getattr(exc, "detail", None) if isinstance(exc, asyncpg.PostgresError) else None
    text = target.describe(exc)
    return f"{text} ({target.describe(ValueError(detail))})" if detail else text


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
