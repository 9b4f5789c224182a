"""The scheduler's leader among processes sharing one PostgreSQL database (bot/jobs/leader.py),
against the real server: two Leader objects on one schema stand for two processes. One leads;
the other takes over when the leader's connection is terminated, goes silent (a proxy that
drops everything) or the leader stops; the leader's work never runs in both at once. SQLite
needs no election: its one process always leads."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

from bot.app.run import leader_of
from bot.jobs import leader as leader_module
from bot.jobs.leader import Holder, Lead, Leader, Timing, current_holder
from bot.storage.postgres import PgDatabase
from bot.storage.postgres.database import LEADER_SPACE, LOCK_SPACE, MIGRATION_LOCK
from tests.fakes.app import make_app
from tests.fakes.postgres import fresh_schema
from tests.fakes.tcp_proxy import TcpProxy

FAST = Timing(retry=0.2, check=0.2, timeout=0.6, stop=0.2)  # settle: 1.0 s


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """A fresh schema, migrated (the `leader` table)."""
    async with fresh_schema() as url:
        database = PgDatabase(url)
        await database.open()
        await database.close()
        yield url


@dataclass
class Work:
    """The leader's work as each process runs it: when it ran, and how it stopped."""

    periods: list[tuple[str, float, float]] = field(default_factory=list)  # name, start, end
    running: dict[str, float] = field(default_factory=dict)
    graces: list[tuple[str, float]] = field(default_factory=list)

    def lead(self, name: str, leader: Leader, fail: bool = False) -> Lead:
        async def lead() -> None:
            self.running[name] = time.monotonic()
            try:
                if fail:
                    raise RuntimeError("the jobs broke")
                await asyncio.Event().wait()
            finally:
                self.graces.append((name, leader.grace(10.0)))
                self.periods.append((name, self.running.pop(name), time.monotonic()))

        return lead

    def never_overlapped(self) -> bool:
        now = time.monotonic()
        spans = [*self.periods, *((n, s, now) for n, s in self.running.items())]
        spans.sort(key=lambda p: p[1])
        return all(a[2] <= b[1] for a, b in itertools.pairwise(spans))


@contextlib.asynccontextmanager
async def running(leader: Leader, lead: Lead) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(leader.run(lead))
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition: Callable[[], bool], within: float = 10.0) -> float:
    """Wait until `condition()` holds; how long it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise TimeoutError("the condition did not come true in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def in_db(url: str, work: Callable[[asyncpg.Connection], Awaitable[object]]) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await work(conn)
    finally:
        await conn.close()


def pair(url: str, timing: Timing = FAST) -> tuple[Leader, Leader]:
    return tuple(  # type: ignore[return-value]
        Leader(url, space=LEADER_SPACE, identity=f"host-{n}:{n}", timing=timing) for n in (1, 2)
    )


async def test_one_leads_the_other_follows_and_the_table_says_who(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    first, second = pair(url)
    work = Work()
    async with running(first, work.lead("first", first)):
        await until(lambda: first.leading)
        async with running(second, work.lead("second", second)):
            await until(lambda: second.holder == first.identity)
            await asyncio.sleep(5 * FAST.retry)  # it keeps trying, and keeps following
            assert first.leading and not second.leading
            assert list(work.running) == ["first"]
            holder = await in_db(url, lambda c: current_holder(c, LEADER_SPACE))
            assert isinstance(holder, Holder) and holder.name == "host-1:1"
            assert abs(holder.since.timestamp() - time.time()) < 60
    messages = [r.getMessage() for r in caplog.records]
    assert "scheduler: this process leads (host-1:1)" in messages
    assert messages.count("scheduler: following host-1:1") == 1  # said once, not every try
    # both stopped: nobody leads, and the table no longer names anyone
    assert await in_db(url, lambda c: current_holder(c, LEADER_SPACE)) is None
    assert await in_db(url, lambda c: c.fetchval("SELECT count(*) FROM leader")) == 0


async def test_a_terminated_connection_steps_the_leader_down_and_the_other_takes_over(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    first, second = pair(url)
    work = Work()
    async with running(first, work.lead("first", first)):
        await until(lambda: first.leading)
        async with running(second, work.lead("second", second)):
            await until(lambda: second.holder == first.identity)
            conn = first.connection
            assert conn is not None
            pid = conn.get_server_pid()
            await in_db(url, lambda c: c.execute("SELECT pg_terminate_backend($1)", pid))
            await until(lambda: "first" not in work.running)
            assert ("first", FAST.stop) in work.graces  # stepped down at once: a short grace
            await until(lambda: second.leading and "second" in work.running)
            await until(lambda: first.holder == second.identity)  # the first follows now
            assert not first.leading
            assert work.never_overlapped()
    text = caplog.text
    assert "scheduler: stepping down: its database connection closed" in text
    assert "host-1:1 led before without handing over" in text  # so the second waited


async def test_a_silent_network_fails_the_check_and_the_leader_steps_down(url: str) -> None:
    parts = urlsplit(url)
    async with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
        via_proxy = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        first = Leader(via_proxy, space=LEADER_SPACE, identity="a:1", timing=FAST)
        _, second = pair(url)
        work = Work()
        async with running(first, work.lead("first", first)):
            await until(lambda: first.leading and "first" in work.running)
            async with running(second, work.lead("second", second)):
                await until(lambda: second.holder == "a:1")
                proxy.freeze()  # the leader's checks get no answer; its socket stays open
                await until(lambda: "first" not in work.running)
                await until(lambda: second.leading and "second" in work.running)
                assert not first.leading
                assert work.never_overlapped()


async def test_a_clean_stop_hands_over_at_once(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    first, second = pair(url)
    work = Work()
    task = asyncio.create_task(first.run(work.lead("first", first)))
    try:
        await until(lambda: first.leading)
        async with running(second, work.lead("second", second)):
            await until(lambda: second.holder == first.identity)
            task.cancel()  # the process stops (SIGTERM): its work gets the full grace
            await asyncio.gather(task, return_exceptions=True)
            assert ("first", 10.0) in work.graces
            await until(lambda: "second" in work.running)
            assert work.never_overlapped()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "led before without handing over" not in caplog.text  # so the second did not wait


async def test_work_that_fails_is_raised_and_lets_go_of_the_lock(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    first, second = pair(url)
    work = Work()
    with pytest.raises(RuntimeError, match="the jobs broke"):
        await asyncio.wait_for(first.run(work.lead("first", first, fail=True)), 10)
    assert not first.leading and first.connection is None
    async with running(second, work.lead("second", second)):
        await until(lambda: "second" in work.running)
    assert "led before without handing over" not in caplog.text  # handed over: no waiting


async def test_the_lock_session_keeps_tcp_alive_and_names_itself(url: str) -> None:
    """The server finds a vanished client host by its keepalives (the lock is freed in about
    6 s); idle_in_transaction_session_timeout is no matter: the lock is held outside any
    transaction, which the check also shows."""
    (leader, _) = pair(url)
    work = Work()
    async with running(leader, work.lead("first", leader)):
        await until(lambda: leader.leading)
        conn = leader.connection
        assert conn is not None
        assert await conn.fetchval("SHOW tcp_keepalives_idle") == "3"
        assert await conn.fetchval("SHOW tcp_keepalives_interval") == "1"
        assert await conn.fetchval("SHOW tcp_keepalives_count") == "3"
        assert await conn.fetchval("SHOW tcp_user_timeout") == "6000"
        pid = conn.get_server_pid()
        row = await in_db(
            url,
            lambda c: c.fetchrow(
                "SELECT application_name, state FROM pg_stat_activity WHERE pid = $1", pid
            ),
        )
        assert isinstance(row, asyncpg.Record)
        assert row["application_name"].startswith("stackprep leader@")
        assert row["state"] == "idle"  # between checks: not idle in a transaction


async def test_two_schemas_of_one_database_elect_a_leader_each(url: str) -> None:
    async with fresh_schema() as other:
        database = PgDatabase(other)
        await database.open()
        await database.close()
        first, _ = pair(url)
        _, second = pair(other)
        work = Work()
        async with (
            running(first, work.lead("first", first)),
            running(second, work.lead("second", second)),
        ):
            await until(lambda: first.leading and second.leading)


async def test_with_sqlite_the_one_process_always_leads() -> None:
    leader = Leader(None)
    work = Work()
    async with running(leader, work.lead("only", leader)):
        await until(lambda: "only" in work.running)
        assert leader.leading and leader.holder == leader.identity
        assert leader.connection is None


async def test_an_unreachable_database_is_retried_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    with_password = "postgresql://stackprep:s3cret-pw@127.0.0.1:9/nowhere"  # port 9: refused
    leader = Leader(with_password, space=LEADER_SPACE, timing=FAST)
    work = Work()
    async with running(leader, work.lead("x", leader)):
        await asyncio.sleep(5 * FAST.retry)
        assert not leader.leading and work.periods == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "cannot reach the database postgresql://stackprep@127.0.0.1:9/nowhere" in warnings[0]
    assert "s3cret-pw" not in caplog.text


class BrokenCheck(Leader):
    """A leader whose `n`-th check of its connection raises `error` (a driver's internal
    error, or a plain bug): whatever it is, the leader must step down as on any fault."""

    def __init__(self, url: str, error: BaseException, n: int = 3) -> None:
        super().__init__(url, space=LEADER_SPACE, identity="host-1:1", timing=FAST)
        self.error, self.n, self.checks = error, n, 0

    async def _holds(self, conn: asyncpg.Connection) -> bool:
        self.checks += 1
        if self.checks == self.n:
            raise self.error
        return await super()._holds(conn)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 15"),
        RuntimeError("a bug in the check"),
    ],
    ids=["internal-client-error", "runtime-error"],
)
async def test_a_check_that_breaks_unexpectedly_steps_down_and_stands_again(
    url: str, error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    first = BrokenCheck(url, error)
    _, second = pair(url)
    work = Work()
    async with running(first, work.lead("first", first)) as first_task:
        await until(lambda: first.leading and "first" in work.running)
        second_task = asyncio.create_task(second.run(work.lead("second", second)))
        try:
            await until(lambda: second.leading and "second" in work.running)
            # the first's work stopped (a step-down's grace) before the second's started
            assert ("first", FAST.stop) in work.graces
            assert work.never_overlapped()
            assert not first_task.done()  # it follows again: no error escaped run()
            await until(lambda: first.holder == second.identity)
        finally:
            second_task.cancel()  # the second stops: the first stands again, and wins
            await asyncio.gather(second_task, return_exceptions=True)
        await until(lambda: first.leading and "first" in work.running)
        assert work.never_overlapped()
    assert f"scheduler: stepping down: its database connection failed a check ({error})" in (
        caplog.text
    )


async def test_keepalives_the_server_refuses_are_said_once_and_it_still_leads(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A pooler (PgBouncer) refuses unknown startup parameters, so the keepalives are SET
    after connecting; one the server refuses leaves the others set, and the lead taken."""
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    refused = {
        "tcp_keepalives_idle": "3",
        "tcp_keepalives_interval": "not a number",  # refused: an invalid value
        "stackprep_no_such_setting": "1",  # refused: unknown to the server
    }
    monkeypatch.setattr(leader_module, "KEEPALIVES", refused)
    first, second = pair(url)
    work = Work()
    async with running(first, work.lead("first", first)):
        await until(lambda: first.leading and "first" in work.running)
        conn = first.connection
        assert conn is not None
        assert await conn.fetchval("SHOW tcp_keepalives_idle") == "3"
        async with running(second, work.lead("second", second)):
            await until(lambda: second.holder == first.identity)
            await asyncio.sleep(3 * FAST.retry)  # it reconnects only on a fault: said once
    told = [r.getMessage() for r in caplog.records if "TCP keepalives" in r.getMessage()]
    assert len(told) == 2  # once per process (the first and the second)
    assert "tcp_keepalives_interval" in told[0] and "stackprep_no_such_setting" in told[0]
    assert all(r.levelno == logging.INFO for r in caplog.records if "TCP keepalives" in r.msg)


async def test_processes_of_one_host_and_pid_still_tell_each_other_apart(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Containers on a shared host network: one host name, each PID 1. The name's token
    tells them apart, so a takeover from one that did not hand over still waits."""
    caplog.set_level(logging.INFO, "bot.jobs.leader")
    first, second = (Leader(url, space=LEADER_SPACE, timing=FAST) for _ in range(2))
    assert re.fullmatch(r".+:\d+/[0-9a-f]{6}", first.identity)
    assert first.identity != second.identity
    work = Work()
    async with running(first, work.lead("first", first)):
        await until(lambda: first.leading)
        async with running(second, work.lead("second", second)):
            await until(lambda: second.holder == first.identity)
            conn = first.connection
            assert conn is not None
            pid = conn.get_server_pid()
            await in_db(url, lambda c: c.execute("SELECT pg_terminate_backend($1)", pid))
            await until(lambda: second.leading and "second" in work.running)
            assert work.never_overlapped()
    assert f"{first.identity} led before without handing over" in caplog.text


async def test_the_leaders_lock_has_a_key_space_of_its_own(tmp_path: Path, url: str) -> None:
    """(LEADER_SPACE, hashtext(schema)): never one of (LOCK_SPACE, n), which practice's feed
    and the migrations take, whatever the schema's name."""
    async with make_app(tmp_path, storage="postgresql", url=url) as app:
        leader = leader_of(app)
        assert leader is not None
        work = Work()
        async with running(leader, work.lead("only", leader)):
            await until(lambda: leader.leading)
            conn = leader.connection
            assert conn is not None
            locks = await in_db(
                url,
                lambda c: c.fetch(
                    "SELECT classid::int8 AS space, objid::int8 AS key FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid = $1",
                    conn.get_server_pid(),
                ),
            )
            schema_key = await conn.fetchval("SELECT hashtext(current_schema())")
            assert isinstance(locks, list)
            assert [(r["space"], r["key"]) for r in locks] == [(LEADER_SPACE, schema_key % 2**32)]

            async def others_lock(c: asyncpg.Connection) -> bool:
                feed = await c.fetchval("SELECT pg_try_advisory_lock($1, 1)", LOCK_SPACE)
                migrations = await c.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, MIGRATION_LOCK
                )
                return bool(feed and migrations)

            assert await in_db(url, others_lock)  # the leader blocks neither


def test_a_fault_is_described_without_the_password() -> None:
    password = "S3cret/pw Pass"
    leader = Leader(
        f"postgresql://stackprep:{quote(password, safe='')}@db.example:5432/quiz",
        space=LEADER_SPACE,
    )
    for shown in (password, password.lower(), password.upper(), quote(password, safe="")):
        text = leader.describe(OSError(f"cannot connect as stackprep:{shown}@db.example"))
        assert shown not in text and "********" in text
