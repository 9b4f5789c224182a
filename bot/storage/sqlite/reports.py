"""Question reports (bot/core/quiz/reports.py's ReportStore) over a Database.

One open report per person per question rests on the partial unique index of schema 13: the
insert does nothing on a conflict, and the same write counts the question's open reports, so
the count that holds a question is taken in the report's own transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from bot.core.quiz.reports import AlreadyReported, NewReport, Report, ReportStore
from bot.storage.rows.reports import (
    NEW_REPORT_COLUMNS,
    REPORT_COLUMNS,
    new_report_values,
)
from bot.storage.rows.reports import report as _report
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import to_ts

__all__ = ["SqliteReportStore"]

_SELECT = f"SELECT {REPORT_COLUMNS} FROM question_reports "  # noqa: S608
_INSERT = (
    f"INSERT INTO question_reports ({NEW_REPORT_COLUMNS}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _add(conn: sqlite3.Connection, new: NewReport) -> tuple[Report, int] | None:
    """On the writer's thread, in one transaction: the insert, then the open count."""
    cursor = conn.execute(_INSERT, new_report_values(new))
    if cursor.rowcount != 1:
        return None
    row = conn.execute(_SELECT + "WHERE id = ?", (cursor.lastrowid,)).fetchone()
    (count,) = conn.execute(
        "SELECT count(*) FROM question_reports WHERE question_id = ? AND state = 'open'",
        (new.question_id,),
    ).fetchone()
    return _report(row), int(count)


def _set_note(conn: sqlite3.Connection, report_id: int, player_id: int, note: str) -> Any:
    changed = conn.execute(
        "UPDATE question_reports SET note = ? WHERE id = ? AND player_id = ? AND state = 'open'",
        (note, report_id, player_id),
    ).rowcount
    return conn.execute(_SELECT + "WHERE id = ?", (report_id,)).fetchone() if changed else None


class SqliteReportStore:
    """The question_reports table, reached only through the Database's reads and writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteReportStore({self._db!r})"

    async def add_report(self, report: NewReport) -> tuple[Report, int]:
        added = await self._db.write_with(lambda conn: _add(conn, report))
        if added is None:
            raise AlreadyReported()
        return added

    async def open_report(self, question_id: str, player_id: int) -> Report | None:
        rows = await self._db.read(
            _SELECT + "WHERE question_id = ? AND player_id = ? AND state = 'open'",
            (question_id, player_id),
        )
        return _report(rows[0]) if rows else None

    async def set_note(self, report_id: int, player_id: int, note: str) -> Report | None:
        row = await self._db.write_with(lambda conn: _set_note(conn, report_id, player_id, note))
        return _report(row) if row is not None else None

    async def reports(self, *, open_only: bool) -> list[Report]:
        rows = await self._db.read(
            _SELECT + "WHERE state = 'open' OR ? ORDER BY created_at, id", (int(not open_only),)
        )
        return [_report(r) for r in rows]

    async def resolve(self, question_id: str, note: str, at: datetime) -> int:
        return await self._db.write(
            "UPDATE question_reports SET state = 'resolved', resolution = ?, resolved_at = ? "
            "WHERE question_id = ? AND state = 'open'",
            (note, to_ts(at), question_id),
        )

    async def held(self, at_least: int) -> frozenset[str]:
        rows = await self._db.read(
            "SELECT question_id FROM question_reports WHERE state = 'open' "
            "GROUP BY question_id HAVING count(*) >= ?",
            (at_least,),
        )
        return frozenset(str(r[0]) for r in rows)


def _conforms(store: SqliteReportStore) -> ReportStore:
    return store  # mypy checks that the repository satisfies the protocol
