"""PgReportStore with several processes on one database: one open report per person per
question, and each report's open count taken in turn, so exactly one report sees the count
that holds a question. The single-process contract is test_report_store.py's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.core.quiz.reports import AlreadyReported, NewReport, Reason
from bot.storage.postgres import PgReportStore
from tests.fakes.pg_processes import add_players, processes

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def new(question: str, player: int) -> NewReport:
    return NewReport(question, "telegram", "telegram:-100", player, Reason.WRONG, "", T0)


async def test_people_reporting_one_question_at_once_are_counted_one_by_one() -> None:
    async with processes(2, max_size=8) as dbs:
        people = await add_players(dbs[0], 16)
        stores = [PgReportStore(db) for db in dbs]
        filed = await asyncio.gather(
            *(stores[n % 2].add_report(new("alpha-one", p)) for n, p in enumerate(people))
        )
        assert sorted(count for _, count in filed) == list(range(1, 17))
        assert await stores[0].held(16) == {"alpha-one"}


async def test_one_open_report_per_person_across_processes() -> None:
    async with processes(2, max_size=8) as dbs:
        (person,) = await add_players(dbs[0], 1)
        stores = [PgReportStore(db) for db in dbs]
        results = await asyncio.gather(
            *(stores[n % 2].add_report(new("alpha-one", person)) for n in range(8)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, tuple) for r in results) == 1
        assert all(isinstance(r, tuple | AlreadyReported) for r in results)
        assert len(await stores[1].reports(open_only=False)) == 1


async def test_postgresql_refuses_an_unknown_reason() -> None:
    async with processes(1) as (db,):
        (person,) = await add_players(db, 1)
        with pytest.raises(asyncpg.CheckViolationError):
            await db.execute(
                "INSERT INTO question_reports (question_id, platform, place, player_id, reason, "
                "created_at) VALUES ('q', 'telegram', 'telegram:1', $1, 'because', 0)",
                person,
            )
