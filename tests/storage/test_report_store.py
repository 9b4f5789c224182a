"""One contract for every ReportStore implementation (memory, SQLite and PostgreSQL): one open
report per person per question, the open count taken with the insert, notes, resolving, the
held set. Several processes on one PostgreSQL database: test_postgres_reports.py."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.bootstrap import App
from bot.core.common.identity import Platform, UserRef
from bot.core.quiz.reports import AlreadyReported, NewReport, Reason, ReportState, ReportStore

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def players(app: App, count: int) -> list[int]:
    return [
        await app.store.player(UserRef(Platform.TELEGRAM, str(n)), f"P{n}") for n in range(count)
    ]


def new(question: str, player: int, reason: Reason = Reason.WRONG, minutes: int = 0) -> NewReport:
    return NewReport(
        question, "telegram", "telegram:-100", player, reason, "", T0 + timedelta(minutes=minutes)
    )


def store_of(app: App) -> ReportStore:
    return app.reports.store


async def test_reports_round_trip_and_count_the_open_ones(app: App) -> None:
    store = store_of(app)
    a, b, c = await players(app, 3)
    first, open_now = await store.add_report(new("alpha-one", a, Reason.TYPO))
    assert open_now == 1
    assert (first.question_id, first.platform, first.place, first.player_id) == (
        "alpha-one", "telegram", "telegram:-100", a,
    )  # fmt: skip
    assert (first.reason, first.note, first.created_at, first.state) == (
        Reason.TYPO, "", T0, ReportState.OPEN,
    )  # fmt: skip
    assert (first.resolution, first.resolved_at) == ("", None)
    second, open_now = await store.add_report(new("alpha-one", b, minutes=1))
    assert open_now == 2 and second.id != first.id
    _, open_other = await store.add_report(new("beta-one", c, minutes=2))
    assert open_other == 1
    assert await store.open_report("alpha-one", a) == first
    assert await store.open_report("alpha-one", c) is None
    assert [r.id for r in await store.reports(open_only=True)] == [first.id, second.id, 3]


async def test_one_open_report_per_person_per_question(app: App) -> None:
    store = store_of(app)
    (a,) = await players(app, 1)
    first, _ = await store.add_report(new("alpha-one", a))
    with pytest.raises(AlreadyReported):
        await store.add_report(new("alpha-one", a, Reason.OTHER, minutes=5))
    assert await store.reports(open_only=False) == [first]
    # concurrent second reports: exactly one is stored
    results = await asyncio.gather(
        *(store.add_report(new("beta-two", a, minutes=n)) for n in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert all(isinstance(r, tuple | AlreadyReported) for r in results)


async def test_notes_only_on_ones_own_open_report(app: App) -> None:
    store = store_of(app)
    a, b = await players(app, 2)
    report, _ = await store.add_report(new("alpha-one", a))
    assert await store.set_note(report.id, b, "not mine") is None
    assert await store.set_note(999, a, "no such report") is None
    noted = await store.set_note(report.id, a, "B is right,\nsee the docs")
    assert noted is not None and noted.note == "B is right,\nsee the docs"
    assert await store.open_report("alpha-one", a) == noted
    await store.resolve("alpha-one", "fixed", T0)
    assert await store.set_note(report.id, a, "too late") is None


async def test_resolve_closes_one_questions_open_reports_and_frees_the_held_set(app: App) -> None:
    store = store_of(app)
    people = await players(app, 4)
    for n, p in enumerate(people[:3]):
        await store.add_report(new("alpha-one", p, minutes=n))
    await store.add_report(new("beta-one", people[3]))
    assert await store.held(3) == {"alpha-one"}
    assert await store.held(1) == {"alpha-one", "beta-one"}
    at = T0 + timedelta(days=1)
    assert await store.resolve("alpha-one", "Reworded option B.", at) == 3
    assert await store.resolve("alpha-one", "again", at) == 0
    assert await store.resolve("no-such-question", "x", at) == 0
    assert await store.held(3) == frozenset()
    everything = await store.reports(open_only=False)  # oldest first, then by id
    assert [(r.question_id, r.state) for r in everything] == [
        ("alpha-one", ReportState.RESOLVED), ("beta-one", ReportState.OPEN),
        ("alpha-one", ReportState.RESOLVED), ("alpha-one", ReportState.RESOLVED),
    ]  # fmt: skip
    closed = [r for r in everything if r.question_id == "alpha-one"]
    assert {(r.resolution, r.resolved_at) for r in closed} == {("Reworded option B.", at)}
    assert [r.question_id for r in await store.reports(open_only=True)] == ["beta-one"]
    # resolved reports do not block a new one by the same person
    again, open_now = await store.add_report(new("alpha-one", people[0], minutes=9))
    assert open_now == 1 and again.state is ReportState.OPEN


async def test_sqlite_refuses_an_unknown_reason(
    sqlite_app: App,
) -> None:
    assert sqlite_app.database is not None
    conn = sqlite3.connect(sqlite_app.database.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO question_reports (question_id, platform, place, player_id, reason, "
                "created_at) VALUES ('q', 'telegram', 'telegram:1', 1, 'because', 0)"
            )
    finally:
        conn.close()
