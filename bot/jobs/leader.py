"""Which process runs the scheduler when several share one PostgreSQL database.

Exactly one process leads: the one holding a session-level advisory lock, taken with
`pg_try_advisory_lock` on a connection of its own (not one of the pool's). The leader runs
`lead()`: the daily question's posts, reveals and recaps, practice's reminders and timeouts,
the group games. The others serve commands and answers and try for the lock every
`Timing.retry` seconds, so when the leader dies another takes over within seconds: on kill -9
the kernel closes the dead process's socket, the server ends its session and the lock is
free; on a host that vanishes without a word, the session's TCP keepalives (set below, on
the server's side, by SET once connected: a pooler such as PgBouncer refuses them as
startup parameters) end it within about 6 s.

A leader checks its connection every `Timing.check` seconds (that the session still holds
the lock, within `Timing.timeout`; the driver's close callback too). If the connection is
lost or a check fails (whatever the error), it steps down at once: `lead()` is cancelled,
with `Timing.stop` seconds for work in flight, and only then is the connection dropped, so
that the server frees the lock; it follows again a little later.
A new leader that finds another process's name in the `leader` table (it did not hand over
cleanly) waits `Timing.settle` seconds before it starts: by then a leader that lost its
connection without dying has noticed and stopped, so two never post together. A leader that
stops cleanly (SIGTERM) lets its work finish, then clears the table and unlocks, and the next
starts at once. Exactly-once posting itself rests on the daily question's claims and
deliveries in the database, not on this.

The lock is per schema: (LEADER_SPACE, hashtext(current_schema())), in a key space of its
own, so two deployments in two schemas of one database each elect their own leader, and the
leader's lock never meets another lock. A process is named `host:pid/token` (the token
random: containers sharing a host's network are all PID 1). The URL must reach the server directly
(or through a session pooler): a transaction pooler would hand the session to others.

With SQLite (one process per database) there is nothing to elect: `Leader(None)` always leads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.core.common.secret import passwords_in, scrub, shown_url

log = logging.getLogger(__name__)

# The lock's session, on the server's side: a client host that vanishes (no FIN, no RST) is
# found dead after 3 s idle + 3 probes 1 s apart, and data left unacknowledged for 6 s ends
# it too; then its backend exits and the lock is free.
KEEPALIVES = {
    "tcp_keepalives_idle": "3",
    "tcp_keepalives_interval": "1",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "6000",
}
CONNECT_TIMEOUT = 5.0
_NOBODY = object()
Lead = Callable[[], Coroutine[Any, Any, None]]  # the leader's work, until cancelled
AnyConnection = asyncpg.Connection | PoolConnectionProxy  # its own, or one of a pool's
FAULTS = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)  # fmt: skip


@dataclass(frozen=True)
class Timing:
    """Seconds: how often a follower tries for the lock, how often a leader checks its
    connection and how long it gives each check, and how long a leader stepping down lets
    its work in flight finish."""

    retry: float = 3.0
    check: float = 2.0
    timeout: float = 2.0
    stop: float = 1.0

    @property
    def settle(self) -> float:
        """What a new leader waits when the last one did not hand over: the longest a leader
        whose connection broke takes to notice (a check's interval and timeout) and stop."""
        return self.check + self.timeout + self.stop


@dataclass(frozen=True)
class Holder:
    """The process that leads: `host:pid/token`, and since when."""

    name: str
    since: datetime


def this_process() -> str:
    """`host:pid/token`: the token tells apart processes of one host name and pid (containers
    on a shared host network are each PID 1)."""
    return f"{socket.gethostname()}:{os.getpid()}/{secrets.token_hex(3)}"


async def lock_key(conn: AnyConnection) -> int:
    """The lock's second key: this connection's schema, hashed."""
    key: int = await conn.fetchval("SELECT hashtext(current_schema())")
    return key


async def current_holder(conn: AnyConnection, space: int) -> Holder | None:
    """Who leads now (`stackprep daily list`): the `leader` table's row while some session
    holds the lock; None when none does (no process runs the scheduler)."""
    row = await conn.fetchrow(
        "SELECT holder, since FROM leader WHERE id = 1 AND EXISTS ("
        " SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid::int8 = $1 AND objid::int8 = $2 AND objsubid = 2)",
        space % 2**32,
        await lock_key(conn) % 2**32,
    )
    if row is None:
        return None
    return Holder(row["holder"], datetime.fromtimestamp(row["since"], UTC))


class Leader:
    """The election among the processes sharing one database (None: SQLite, always leads)."""

    def __init__(
        self,
        url: str | None,
        *,
        space: int = 0,
        identity: str | None = None,
        timing: Timing | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`space`: the advisory lock's key space (bot.storage.postgres.database's
        LEADER_SPACE); `identity`: this process's name (host:pid/token)."""
        self._url = url
        self.shown = shown_url(url) if url is not None else None
        self._secrets = passwords_in(url) if url is not None else []
        self._space = space
        self.identity = identity or this_process()
        self.timing = timing or Timing()
        self._clock = clock
        self.leading = False
        self.stepping_down = False  # True while lead() is being cancelled on a step-down
        self.holder: str | None = None  # who leads, as last seen (the identity while we do)
        self._conn: asyncpg.Connection | None = None
        self._lock = 0  # the lock's second key in this connection's schema
        self._told_keepalives = False  # said once that the server refused them

    def __repr__(self) -> str:
        return f"Leader({self.shown!r}, {self.identity!r}, leading={self.leading})"

    @property
    def connection(self) -> asyncpg.Connection | None:
        """The lock's own connection (None between connections, and with SQLite)."""
        return self._conn

    def grace(self, normal: float) -> float:
        """How long lead()'s work in flight may take to finish as it stops: `normal` when
        the process stops, `Timing.stop` at most when it steps down."""
        return min(normal, self.timing.stop) if self.stepping_down else normal

    async def run(self, lead: Lead) -> None:
        """Until cancelled: follow until the lock is ours, then run `lead()` (until it
        returns, or a step-down cancels it), and follow again. An error of `lead()` is
        raised, after the lock is let go; any other failure while leading is a step-down."""
        if self._url is None:  # SQLite: the only process
            self._set(leading=True, holder=self.identity)
            try:
                await lead()
            finally:
                self._set(leading=False, holder=None)
            return
        try:
            while True:
                conn = await self._win()
                if await self._lead(conn, lead):
                    return
                # stepped down: its connection failed, so let a sound process win first
                await asyncio.sleep(2 * self.timing.retry)
        finally:
            await self._drop()

    # -- following ----------------------------------------------------------------------------

    async def _win(self) -> asyncpg.Connection:
        """Try for the lock every `retry` seconds until it is ours; its connection."""
        failing = False
        announced: object = _NOBODY  # the holder last named in the log
        while True:
            try:
                conn = await self._connection()
                async with asyncio.timeout(self.timing.timeout):
                    if await conn.fetchval(
                        "SELECT pg_try_advisory_lock($1, $2)", self._space, self._lock
                    ):
                        return conn
                    holder = await conn.fetchval("SELECT holder FROM leader WHERE id = 1")
                if failing:
                    log.info("scheduler: the database is reachable again")
                    failing = False
                if holder != announced:
                    log.info("scheduler: following %s", holder or "another process")
                    announced = holder
                self._set(leading=False, holder=holder)
            except Exception as exc:  # whatever it is, the election goes on
                await self._drop()
                if not failing:
                    log.warning(
                        "scheduler: cannot reach the database %s to elect a leader (%s); "
                        "trying again every %.0f s", self.shown, self.describe(exc),
                        self.timing.retry,
                    )  # fmt: skip
                failing = True
            await asyncio.sleep(self.timing.retry)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        assert self._url is not None
        name = f"stackprep leader@{socket.gethostname()}"[:63]
        conn = await asyncpg.connect(
            self._url, timeout=CONNECT_TIMEOUT, server_settings={"application_name": name}
        )
        try:
            async with asyncio.timeout(self.timing.timeout):
                await self._keep_alive(conn)
                self._lock = await lock_key(conn)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        return conn

    async def _keep_alive(self, conn: asyncpg.Connection) -> None:
        """The session's TCP keepalives, set once connected (PgBouncer refuses unknown startup
        parameters); one the server refuses is left at its default, said once."""
        refused = []
        for name, value in KEEPALIVES.items():
            try:
                await conn.fetchval("SELECT set_config($1, $2, false)", name, value)
            except asyncpg.PostgresError as exc:
                refused.append(f"{name}: {self.describe(exc)}")
        if refused and not self._told_keepalives:
            log.info(
                "scheduler: the server keeps its own TCP keepalives for the lock's session "
                "(%s); a vanished host's lock may then outlive it longer",
                "; ".join(refused),
            )
            self._told_keepalives = True

    async def _drop(self) -> None:
        """Close the lock's connection at once (the server frees the lock as it goes)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    # -- leading ------------------------------------------------------------------------------

    async def _lead(self, conn: asyncpg.Connection, lead: Lead) -> bool:
        """Lead while the connection holds: True when lead() returned (the lock is handed
        back), False after a step-down (back to following). However this ends, lead() is
        done before the connection, and the lock with it, is let go."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            async with asyncio.timeout(self.timing.timeout):
                before: str | None = await conn.fetchval(
                    "WITH before AS (SELECT holder FROM leader WHERE id = 1) "
                    "INSERT INTO leader (id, holder, since) VALUES (1, $1, $2) "
                    "ON CONFLICT (id) DO UPDATE SET holder = $1, since = $2 "
                    "RETURNING (SELECT holder FROM before)",
                    self.identity, self._clock(),
                )  # fmt: skip
        except Exception as exc:
            log.warning("scheduler: won the lock but could not record it (%s)", self.describe(exc))
            await self._drop()
            return False
        self._set(leading=True, holder=self.identity)
        log.info("scheduler: this process leads (%s)", self.identity)
        task: asyncio.Task[None] | None = None
        try:
            if before is not None and before != self.identity:
                log.info(
                    "scheduler: %s led before without handing over; starting in %.0f s, once "
                    "it has surely stopped", before, self.timing.settle,
                )  # fmt: skip
                why = await self._hold(conn, lost, self.timing.settle)
                if why is not None:
                    return await self._step_down(why, None)
            task = asyncio.create_task(lead(), name="scheduler leader")
            why = await self._hold(conn, lost, task)
        except asyncio.CancelledError:  # the process stops: its work finishes, then hand over
            try:
                if task is not None:
                    await _finish(task)
            finally:
                await self._hand_over(conn)
            raise
        except BaseException as exc:  # whatever broke while holding: step down
            await self._step_down(f"holding the lead failed ({self.describe(exc)})", task)
            if isinstance(exc, Exception):
                return False
            raise
        if why is not None:
            return await self._step_down(why, task)
        try:
            task.result()  # lead() failed: raise it, the lock let go
        finally:
            await self._hand_over(conn)
        return True

    async def _hold(
        self, conn: asyncpg.Connection, lost: asyncio.Event, until: asyncio.Task[None] | float
    ) -> str | None:
        """Check the connection every `check` seconds until `until` (a task done, or that
        many seconds passed): why it failed, or None."""
        loop = asyncio.get_running_loop()
        end = loop.time() + until if isinstance(until, float | int) else None
        closed = asyncio.ensure_future(lost.wait())
        waits: set[asyncio.Future[Any]] = {closed}
        if isinstance(until, asyncio.Task):
            waits.add(until)
        try:
            while True:
                wait = (
                    self.timing.check if end is None else min(self.timing.check, end - loop.time())
                )
                await asyncio.wait(waits, timeout=max(wait, 0), return_when=asyncio.FIRST_COMPLETED)
                if closed.done() or conn.is_closed():
                    return "its database connection closed"
                if isinstance(until, asyncio.Task) and until.done():
                    return None
                if end is not None and loop.time() >= end:
                    return None
                try:
                    async with asyncio.timeout(self.timing.timeout):
                        held = await self._holds(conn)
                except Exception as exc:  # any failure of the check: the lock is not sure
                    return f"its database connection failed a check ({self.describe(exc)})"
                if not held:
                    return "its database session no longer holds the lock"
        finally:
            closed.cancel()

    async def _holds(self, conn: asyncpg.Connection) -> bool:
        held: bool = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND classid::int8 = $1 AND objid::int8 = $2"
            " AND objsubid = 2)",
            self._space % 2**32, self._lock % 2**32,
        )  # fmt: skip
        return held

    async def _step_down(self, why: str, task: asyncio.Task[None] | None) -> bool:
        """Stop leading at once: lead() cancelled (a short grace for work in flight) and done,
        then the connection dropped so that the server frees the lock."""
        log.warning("scheduler: stepping down: %s", why)
        self.stepping_down = True
        try:
            if task is not None:
                await _finish(task)
                if not task.cancelled() and (error := task.exception()) is not None:
                    log.error("scheduler: the leader's jobs failed as they stopped", exc_info=error)
        finally:
            self.stepping_down = False
            self._set(leading=False, holder=None)
            await self._drop()
        return False

    async def _hand_over(self, conn: asyncpg.Connection) -> None:
        """A clean stop: clear our row and unlock, so the next leader starts at once."""
        self._set(leading=False, holder=None)
        try:
            async with asyncio.timeout(self.timing.timeout):
                await conn.execute("DELETE FROM leader WHERE id = 1 AND holder = $1", self.identity)
                await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", self._space, self._lock)
        except Exception as exc:  # the connection goes anyway, and the lock with it
            log.info("scheduler: could not hand over cleanly (%s)", self.describe(exc))
        finally:
            await self._drop()

    def _set(self, *, leading: bool, holder: str | None) -> None:
        self.leading, self.holder = leading, holder

    def describe(self, exc: BaseException) -> str:
        """One line about a fault, without the URL's password in any form."""
        if isinstance(exc, TimeoutError):
            return "no answer in time"
        text = str(exc).strip()
        return scrub(text.splitlines()[0] if text else type(exc).__name__, self._secrets)


async def _finish(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it is done, however often this wait is cancelled (the lock
    is not let go while the leader's work still runs); such a cancellation is raised after."""
    task.cancel()
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
