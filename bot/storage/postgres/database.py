"""One PostgreSQL database shared by any number of Stackprep processes: a connection pool
with timeouts, numbered migrations applied once under an advisory lock, and the one mapping
from the driver's failures to the errors a user may see.

    db = PgDatabase("postgresql://stackprep@127.0.0.1:5432/stackprep")
    await db.open()                       # connects, refuses a foreign database, migrates
    async with db.transaction() as conn:  # one transaction on a pooled connection
        await conn.execute(...)
    rows = await db.fetch("SELECT ...")   # one statement, its own transaction
    await db.close()

The URL may carry a password (from STACKPREP_DATABASE_URL); it is never shown: repr, logs and
every error name the database by `shown_url(url)`, which drops it. The driver's own errors
name the host and the user, never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from importlib import resources
from typing import Any, cast

import asyncpg

from bot.core.common.errors import StorageFailed, StorageFull, StorageUnavailable
from bot.core.common.secret import passwords_in, scrub, shown_url

log = logging.getLogger(__name__)

# pg_advisory_lock keys: (STKP, n). 1 is practice's feed (see sql/0001_initial.sql).
LOCK_SPACE = 5353544  # (LOCK_SPACE, n): 1 practice's feed (sql/0001), 2 migrations
MIGRATION_LOCK = 2
# key spaces of their own, (space, a 32-bit key): a player's answers, a question's reports,
# the scheduler's leader (keyed by hashtext(current_schema()): one per schema)
PLAYER_LOCKS = LOCK_SPACE + 1
REPORT_LOCKS = LOCK_SPACE + 2
LEADER_SPACE = LOCK_SPACE + 3

FAULT_MEMORY = 60.0  # seconds a write fault stays in /healthz
UNREACHABLE = (
    "The quiz database cannot be reached right now; nothing was recorded. Try again in a moment."
)


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every shipped PostgreSQL migration, in order."""
    folder = resources.files("bot.storage.postgres") / "sql"
    found = [
        (int(entry.name[:4]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    ]
    return sorted(found)


SCHEMA_VERSION = migrations()[-1][0]
OUR_TABLES = frozenset(
    name.lower()
    for _, sql in migrations()
    for name in re.findall(r"CREATE\s+TABLE\s+(\w+)", sql, flags=re.IGNORECASE)
)
# the functions the migrations create (the answers' and the triggers'), and which made each
OUR_FUNCTIONS = {
    name.lower(): number
    for number, sql in migrations()
    for name in re.findall(
        r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)", sql, flags=re.IGNORECASE
    )
}
SCHEMA_INCOMPLETE = (
    "the database's schema lacks a part Stackprep needs (changed by hand, or restored in "
    "part?): a restart of Stackprep names what is missing"
)


async def rollback_only(conn: Any) -> None:
    """What a connection goes back to the pool with: no open transaction. asyncpg's default
    reset also runs RESET ALL, UNLISTEN and pg_advisory_unlock_all(), one more round trip
    for every pooled query (361 against 158 us for a trivial one); nothing here leaves such
    session state on a pooled connection (SET LOCAL only; the session-level locks, the
    migrations' and the leader's, are released explicitly or live on a connection of their
    own)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def as_connection(proxy: Any) -> asyncpg.Connection:
    """A pooled connection as the connection it stands for (the pool hands out a proxy that
    forwards every method; the stubs do not say so)."""
    return cast("asyncpg.Connection", proxy)


class PgDatabase:
    """A pool of connections to one PostgreSQL database; open() migrates it."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        acquire_timeout: float = 5.0,
    ) -> None:
        self._url = url
        self.url = shown_url(url)
        found = passwords_in(url)
        # and its pieces: a parser that splits an unencoded @ or : elsewhere than urllib does
        # (the driver's) may quote a piece of it in an error
        pieces = (p for s in found for p in re.split(r"[@:/?#]", s) if len(p) >= 4)
        self._secrets = [*found, *pieces]
        self._min, self._max = min_size, max_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._acquire_timeout = acquire_timeout
        self._pool: asyncpg.Pool | None = None
        self._before_close: list[Callable[[], Awaitable[None]]] = []  # stores' queued writes
        self._fault: tuple[float, str] | None = None  # (monotonic time, what) of a write fault

    def __repr__(self) -> str:
        return f"PgDatabase({self.url!r})"

    def reopened(self) -> PgDatabase:
        """A new, unopened PgDatabase on the same database (another process's view)."""
        return PgDatabase(
            self._url, min_size=self._min, max_size=self._max,
            connect_timeout=self._connect_timeout, command_timeout=self._command_timeout,
            acquire_timeout=self._acquire_timeout,
        )  # fmt: skip

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, refuse a database that holds tables of someone else's, migrate. Raises
        StorageUnavailable with one line for the operator (never the password)."""
        try:
            self._pool = await asyncpg.create_pool(
                self._url,
                min_size=self._min,
                max_size=self._max,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
                server_settings={"application_name": f"stackprep@{socket.gethostname()}"},
                reset=rollback_only,
            )
            async with self._pool.acquire() as conn:
                await migrate(as_connection(conn))
        except Refused as exc:
            await self.close()
            raise StorageUnavailable(f"Cannot use the database {self.url}: {exc}") from None
        except BaseException as exc:
            await self.close()
            if isinstance(exc, Exception):  # whatever it is, one line without the password
                raise StorageUnavailable(
                    f"Cannot open the database {self.url}: {self.describe(exc)}"
                ) from None
            raise

    def before_close(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Have close() await `hook` first, while the pool is still open (a store's queued
        writes: the quiz's answers)."""
        self._before_close.append(hook)

    async def close(self) -> None:
        """Finish the stores' queued writes (`before_close`), then close every connection
        (waiting up to 10 s for those in use). Safe to call twice."""
        for hook in self._before_close:
            try:
                await hook()
            except Exception:
                log.exception("database %s: finishing queued writes failed", self.url)
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 10)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StorageUnavailable("The database is not open.")
        return self._pool

    # -- use --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection (no transaction of its own); faults become StorageUnavailable."""
        with self.told():
            async with self.pool.acquire(timeout=self._acquire_timeout) as conn:
                yield as_connection(conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction on a pooled connection, rolled back on any error."""
        with self.told():
            async with (
                self.pool.acquire(timeout=self._acquire_timeout) as conn,
                conn.transaction(),
            ):
                yield as_connection(conn)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        with self.told():
            return await self.pool.fetch(sql, *args, timeout=self._command_timeout)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        with self.told():
            return await self.pool.fetchrow(sql, *args, timeout=self._command_timeout)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        with self.told():
            return await self.pool.fetchval(sql, *args, timeout=self._command_timeout)

    async def execute(self, sql: str, *args: Any) -> str:
        """One statement; returns its status (e.g. 'UPDATE 1': see `affected`)."""
        with self.told():
            return await self.pool.execute(sql, *args, timeout=self._command_timeout)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        with self.told():
            await self.pool.executemany(sql, args, timeout=self._command_timeout)

    # -- faults -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def told(self) -> Iterator[None]:
        """The server unreachable, restarting, out of connections or of disk becomes the
        StorageUnavailable a caller can show; a constraint or a bug goes on as it is."""
        try:
            yield
        except Exception as exc:
            failure = self.failure(exc)
            if failure is None:
                raise
            what = self.describe(exc)
            log.warning("database %s: %s", self.url, what)
            if isinstance(failure, StorageFull | StorageFailed):
                self._fault = (time.monotonic(), what)
            raise failure from None

    def recent_fault(self) -> str | None:
        """A write fault (disk full, read-only) seen in the last minute, for /healthz: reads
        may still answer while every write fails."""
        if self._fault is None or time.monotonic() - self._fault[0] > FAULT_MEMORY:
            return None
        return self._fault[1]

    def failure(self, exc: BaseException) -> StorageUnavailable | None:
        """The user-facing error for a fault of the server or the connection; None for an
        error of the statement (a constraint, a bug), which the caller handles."""
        if isinstance(exc, StorageUnavailable):
            return exc
        if isinstance(exc, asyncpg.DiskFullError):
            return StorageFull()
        if isinstance(
            exc, asyncpg.InsufficientPrivilegeError | asyncpg.ReadOnlySQLTransactionError
        ):
            return StorageFailed()
        if isinstance(
            exc,
            OSError  # refused, reset, unreachable (ConnectionError is one)
            | TimeoutError  # connect, acquire or statement timeout
            | asyncpg.InterfaceError  # the connection closed under us
            # a connection the server ended (pg_terminate_backend, a restart) whose close
            # the driver has not seen yet: its next query finds it mid-error
            | asyncpg.InternalClientError
            | asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError  # starting up or shutting down
            | asyncpg.TooManyConnectionsError
            | asyncpg.AdminShutdownError
            | asyncpg.CrashShutdownError
            | asyncpg.QueryCanceledError  # statement_timeout
            | asyncpg.DeadlockDetectedError
            | asyncpg.SerializationError
            | asyncpg.InvalidAuthorizationSpecificationError  # no such role
            | asyncpg.InvalidPasswordError
            | asyncpg.InvalidCatalogNameError,  # no such database
        ):
            return StorageUnavailable(UNREACHABLE)
        if isinstance(exc, asyncpg.UndefinedFunctionError):  # one of OUR_FUNCTIONS dropped
            return StorageFailed()
        return None

    def describe(self, exc: BaseException) -> str:
        """One line about a fault for the operator, without the password in any form."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
            text = f"{exc.strerror or text} (is the server running and reachable?)"
        elif isinstance(exc, TimeoutError):
            text = "no answer in time (is the server up and the address right?)"
        elif isinstance(exc, asyncpg.InvalidCatalogNameError):
            text = f"{text} (create it: createdb, or CREATE DATABASE)"
        elif isinstance(exc, asyncpg.UndefinedFunctionError):
            text = f"{text}: {SCHEMA_INCOMPLETE}"
        return scrub(text, self._secrets)


# -- migrations -------------------------------------------------------------------------------


class Refused(Exception):
    """The database is not one Stackprep may write; the message says why and what to do."""


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the missing migrations, each in its own transaction, under an advisory lock (two
    processes starting at once apply each once). Returns the schema version."""
    await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, MIGRATION_LOCK)
    try:
        version = await identify(conn)
        for number, sql in migrations():
            if number <= version:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("UPDATE stackprep_schema SET version = $1", number)
            log.info("database: migrated to schema version %d", number)
            version = number
        await complete(conn, version)
        return version
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_SPACE, MIGRATION_LOCK)


async def identify(conn: asyncpg.Connection) -> int:
    """The schema version if the database is ours (0 for an empty one, marked ours then);
    Refused for a database holding other tables or a newer schema."""
    tables = {
        r["tablename"]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    if "stackprep_schema" in tables:
        version: int = await conn.fetchval("SELECT version FROM stackprep_schema")
        if version > SCHEMA_VERSION:
            raise Refused(
                f"its schema version {version} is newer than this Stackprep's "
                f"({SCHEMA_VERSION}); upgrade Stackprep"
            )
        return version
    if tables:
        shown = ", ".join(sorted(tables)[:5])
        raise Refused(
            f"it holds tables that are not Stackprep's ({shown}); use an empty database "
            "(createdb stackprep) or another schema"
        )
    async with conn.transaction():
        await conn.execute(
            "CREATE TABLE stackprep_schema (version integer NOT NULL);"
            "INSERT INTO stackprep_schema VALUES (0)"
        )
    return 0


async def complete(conn: asyncpg.Connection, version: int) -> None:
    """Refuse a schema that lacks one of the functions its migrations made (dropped by hand,
    or a partial restore): without them no answer can be written."""
    found = {
        r[0]
        for r in await conn.fetch(
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
        )
    }
    missing = sorted(name for name, number in OUR_FUNCTIONS.items() if number <= version)
    missing = [name for name in missing if name not in found]
    if missing:
        files = sorted({f"{OUR_FUNCTIONS[name]:04d}_*.sql" for name in missing})
        raise Refused(
            f"its schema (version {version}) lacks the function(s) {', '.join(missing)}, "
            "which Stackprep's migrations create (changed by hand, or restored in part?): "
            "restore the whole schema, or create them again from "
            f"bot/storage/postgres/sql/{' and '.join(files)}"
        )


def affected(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3' or 'INSERT 0 1'."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
