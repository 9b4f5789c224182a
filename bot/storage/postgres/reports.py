"""Question reports (bot/core/quiz/reports.py's ReportStore) on PostgreSQL, safe with any
number of processes on one database.

One open report per person per question rests on the partial unique index
`question_reports_one_open`: the insert does nothing on a conflict (AlreadyReported). The same
transaction counts the question's open reports, after a transaction-level advisory lock on the
question: two people reporting one question at once, from two processes, are counted one
after the other, so exactly one report sees the count that holds the question.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.quiz.reports import AlreadyReported, NewReport, Report, ReportStore
from bot.storage.postgres.database import REPORT_LOCKS, PgDatabase, affected
from bot.storage.rows.reports import NEW_REPORT_COLUMNS, REPORT_COLUMNS, new_report_values
from bot.storage.rows.reports import report as _report
from bot.storage.rows.values import to_ts

__all__ = ["REPORT_LOCKS", "PgReportStore"]

# pg_advisory_xact_lock(REPORT_LOCKS, hashtext(question id)) (database.py's key spaces), held
# only for a report's transaction.

_SELECT = f"SELECT {REPORT_COLUMNS} FROM question_reports "  # noqa: S608
_INSERT = f"""
INSERT INTO question_reports ({NEW_REPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING RETURNING {REPORT_COLUMNS}
"""  # noqa: S608


class PgReportStore:
    """The question_reports table in one PostgreSQL database."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"PgReportStore({self._db!r})"

    async def add_report(self, report: NewReport) -> tuple[Report, int]:
        async with self._db.transaction() as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", REPORT_LOCKS, report.question_id
            )
            row = await conn.fetchrow(_INSERT, *new_report_values(report))
            if row is None:  # this person's open report of it is there: nothing changed
                raise AlreadyReported()
            count: int = await conn.fetchval(
                "SELECT count(*) FROM question_reports WHERE question_id = $1 AND state = 'open'",
                report.question_id,
            )
        return _report(row), count

    async def open_report(self, question_id: str, player_id: int) -> Report | None:
        row = await self._db.fetchrow(
            _SELECT + "WHERE question_id = $1 AND player_id = $2 AND state = 'open'",
            question_id,
            player_id,
        )
        return _report(row) if row is not None else None

    async def set_note(self, report_id: int, player_id: int, note: str) -> Report | None:
        row = await self._db.fetchrow(
            "UPDATE question_reports SET note = $3 "  # noqa: S608
            "WHERE id = $1 AND player_id = $2 AND state = 'open' "
            f"RETURNING {REPORT_COLUMNS}",
            report_id,
            player_id,
            note,
        )
        return _report(row) if row is not None else None

    async def reports(self, *, open_only: bool) -> list[Report]:
        rows = await self._db.fetch(
            _SELECT + "WHERE state = 'open' OR NOT $1 ORDER BY created_at, id", open_only
        )
        return [_report(r) for r in rows]

    async def resolve(self, question_id: str, note: str, at: datetime) -> int:
        status = await self._db.execute(
            "UPDATE question_reports SET state = 'resolved', resolution = $2, resolved_at = $3 "
            "WHERE question_id = $1 AND state = 'open'",
            question_id,
            note,
            to_ts(at),
        )
        return affected(status)

    async def held(self, at_least: int) -> frozenset[str]:
        rows = await self._db.fetch(
            "SELECT question_id FROM question_reports WHERE state = 'open' "
            "GROUP BY question_id HAVING count(*) >= $1",
            at_least,
        )
        return frozenset(str(r[0]) for r in rows)


def _conforms(store: PgReportStore) -> ReportStore:
    return store  # mypy checks that the repository satisfies the protocol
