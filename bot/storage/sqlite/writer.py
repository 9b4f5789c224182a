"""The writer connection's queue: group commit for batched writes, other writes between them.

Every write reaches SQLite through this queue, on the writer connection's own thread. Batched
writes (the quiz's answers, written by a chunk function the quiz repository supplies) go in
batches whose chunks are each one statement and one commit; a caller returns only once its
chunk has committed, so a burst of answers shares a few commits and an acknowledged answer is
never lost. Units (a round, a session, the checkpoint's last pass) run between two batches,
background units (practice's card updates) in gaps between them or on their share. The thread
stays on the queue while the database is open, waiting for the next write when there is none
(parked), so no write ever waits for the event loop to hand the thread work. Only a
multi-statement `transaction` takes the write lock, and the thread hands it over at once. A
write that finds the database locked by another connection is tried again until it is written
or RETRY_FOR has passed since it was queued (`until_unlocked` does the same for a statement the
event loop awaits), so a vote nobody can cast twice is not dropped.

Measured (bench/README.md): when the event loop handed the writer each batch, the thread idled
until a busy loop came round (7.3 s of batch time seen by the loop for 4.4 s on the thread in
a 10 s stress run; step 7); a unit done call by call held the writer while waiting for the
loop (a card batch alone p50 2.2 / p99 11 ms at 1,000 answers/s; step 1); answers queued
behind card updates until those waited for a gap (step 9); a thread that handed the queue
back after 20 ms without writes had to wait for a busy loop to hand it over again, behind every
task then ready (a burst of 20,000 answers: the first batch began 0.5 s late; closed loop
11,000-13,000/s, parked 13,500-17,000/s, issue 17 step 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast

import aiosqlite

from bot.core.common.errors import StorageUnavailable

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_BATCH = 512
PARKED_CHECK = 1.0  # seconds between a parked thread's looks at whether its event loop is gone
LATER_AT_MOST = 0.25  # seconds a background write waits for a gap in the answers at most
LATER_SHARE = 0.25
"""The share of the writer's time background writes are guaranteed while answers keep it busy.

Background writes (practice's card updates) otherwise run in gaps between batches of answers,
and at 4,000 answers/s there are none: a batch is still being written when the next answers
arrive. Waiting LATER_AT_MOST for each let the card backlog grow by about 2,600 a second
(issue 17). Each batch of answers now earns background writes a credit of LATER_SHARE of the
writer's time, and one runs after the batch while the credit lasts; answers keep the rest."""
LATER_CREDIT_MAX = 0.05  # seconds of credit at most (no burst of card writes after a lull)
RETRY_FOR = 60.0
"""Seconds a write that found the database locked is retried, counted from when it was queued.

SQLite waits `busy_timeout` (5 s by default) for another connection's write lock, then gives
up. Whoever holds it (an operator's sqlite3 shell, a backup or VACUUM run by hand, a second
bot starting on the same file) usually lets go within seconds, and until then nothing of ours
can be written at all; failing the write at once lost quiz-poll votes that Telegram had
already shown as right or wrong and that cannot be cast again. A minute covers a manual
backup of a large file and the overlap of a supervisor's restart while still letting a
waiting person hear back (Discord defers after 2 s; its interaction token lasts 15 minutes).
After it, the write fails (StorageUnavailable) and a WARNING says what was not recorded."""
RETRY_PAUSES = (0.05, 1.0)  # first and longest pause between attempts (busy_timeout waits too)

ChunkWriter = Callable[[sqlite3.Connection, list[Any]], list[Any]]
"""Writes one chunk of batched items on the writer's thread: items in the order they were
queued, no key twice. Returns, item by item, its result or the Exception its caller gets. It
commits what it wrote (one autocommitted statement); raising fails the whole chunk and means
nothing of it was written (so a chunk that found the database locked is tried again)."""


class _Job(NamedTuple):
    """One batched write: its key (a chunk holds each key at most once), the item, the
    function that writes its chunk, its caller's future and when it was queued (a named
    tuple: one is made per answer)."""

    key: Hashable
    item: Any
    write: ChunkWriter
    future: asyncio.Future[Any]
    queued_at: float


@dataclass
class _Unit:
    """A write other than a batched one (a batch of cards, a session row, the checkpoint's
    last pass): a function of the writer's connection, run on its thread between batches. If
    it raises, it has written nothing (one autocommitted statement, or one transaction that
    rolls back), so one that found the database locked is tried again."""

    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any] = field(repr=False)
    queued_at: float = field(default_factory=time.monotonic)


class _Queue:
    """What the event loop hands the writer's thread: batched writes (answers); units someone
    waits for (`units`: rounds, sessions, the checkpoint's last pass); background units
    (`later`: practice's card updates); a doorbell rung on each; how many callers wait for the
    write lock (`transaction`).

    The loop only appends and rings; the thread only takes (deque append and popleft are
    thread-safe).
    """

    def __init__(self) -> None:
        self.batched: deque[_Job] = deque()
        self.units: deque[_Unit] = deque()
        self.later: deque[_Unit] = deque()
        self.bell = threading.Event()
        self.waiting = False  # the thread is (about to be) waiting for the bell
        self.lock_wanted = 0
        self.closing = False

    def __bool__(self) -> bool:
        return bool(self.batched or self.units or self.later)

    def ring(self) -> None:
        """After appending: wake the thread if it waits (setting an Event takes a lock, too
        dear to do for every answer while the thread is busy anyway)."""
        if self.waiting:
            self.bell.set()

    def wait(self, timeout: float) -> None:
        """On the thread, when it found nothing queued: wait for a ring or the timeout.

        `waiting` is set before the queues are looked at again, and the loop appends before
        it looks at `waiting`, so an append either is seen here or rings the bell.
        """
        self.bell.clear()
        self.waiting = True
        if not self and not self.lock_wanted and not self.closing:
            self.bell.wait(timeout)
        self.waiting = False


def _drain(
    conn: sqlite3.Connection,
    queue: _Queue,
    post: Callable[..., object],
    loop_closed: Callable[[], bool],
) -> None:
    """On the writer's thread: write queued batched writes batch after batch, a queued unit
    between two batches, and background units only in gaps between them; wait for more
    (parked) when nothing is queued.

    `post` (the loop's call_soon_threadsafe) hands each outcome back as soon as it is
    committed. So under load the writer's thread never idles waiting for a busy event loop to
    come round and give it the next batch, a unit waits for at most one batch, and an answer
    waits for at most one unit or one small background unit. Background units run in gaps,
    after a batch while they have credit (LATER_SHARE), or when one has waited LATER_AT_MOST.
    It returns only when a multi-statement transaction wants the writer, or (closing) as soon
    as nothing is queued, or when its event loop has closed without closing the database
    (nobody is left to post to; looked at every PARKED_CHECK while parked).
    """
    credit = 0.0  # seconds of the writer's time owed to background writes (LATER_SHARE)
    earn = LATER_SHARE / (1 - LATER_SHARE)
    while not queue.lock_wanted:
        if not queue:
            if queue.closing or loop_closed():
                return
            queue.wait(PARKED_CHECK)
            continue
        if queue.units:
            _run(conn, queue.units.popleft(), post)
        started = time.monotonic()
        if queue.later and (
            not queue.batched or credit > 0 or queue.later[0].queued_at < started - LATER_AT_MOST
        ):
            _run(conn, queue.later.popleft(), post)
            credit = max(-LATER_CREDIT_MAX, credit - (time.monotonic() - started))
        if queue.batched:
            started = time.monotonic()
            _write_batch(conn, queue.batched, post)
            credit = min(LATER_CREDIT_MAX, credit + (time.monotonic() - started) * earn)


def is_locked(exc: BaseException) -> bool:
    """Whether `exc` is SQLite saying another connection holds the lock (SQLITE_BUSY or
    SQLITE_LOCKED, any extended code): the write did nothing and may be tried again."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    )


def _retrying(attempt: Callable[[], _T], queued_at: float, what: str) -> _T:
    """On the writer's thread: `attempt()`, tried again after a pause (doubling up to
    RETRY_PAUSES[1]) while it finds the database locked, until RETRY_FOR after `queued_at`.

    Pausing the writer's thread costs nothing: while another connection holds the write lock
    no write of ours can be done, and the queue keeps everything that comes in meanwhile.
    """
    pause, longest = RETRY_PAUSES
    retried = False
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            left = queued_at + RETRY_FOR - time.monotonic()
            if not is_locked(exc) or left <= pause:
                raise
            if not retried:
                log.info("the database is locked by another connection; retrying %s", what)
                retried = True
        time.sleep(pause)
        pause = min(pause * 2, longest)


async def until_unlocked(
    attempt: Callable[[], Awaitable[_T]], *, queued_at: float | None = None
) -> _T:
    """On the event loop: `await attempt()`, tried again while it finds the database locked,
    as the writer's thread does (for a statement the loop awaits, e.g. a transaction's
    BEGIN IMMEDIATE; `attempt` must have done nothing when it raises)."""
    start = time.monotonic() if queued_at is None else queued_at
    pause, longest = RETRY_PAUSES
    while True:
        try:
            return await attempt()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or start + RETRY_FOR - time.monotonic() <= pause:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, longest)


def _run(conn: sqlite3.Connection, unit: _Unit, post: Callable[..., object]) -> None:
    try:
        result = _retrying(functools.partial(unit.fn, conn), unit.queued_at, "a write")
    except Exception as exc:
        if is_locked(exc):
            log.warning(
                "a write was not done: the database stayed locked by another connection for "
                "%g s (%s)", RETRY_FOR, exc,
            )  # fmt: skip
        post(_resolve, unit.future, None, exc)
    else:
        post(_resolve, unit.future, result, None)


def _write_batch(conn: sqlite3.Connection, jobs: deque[_Job], post: Callable[..., object]) -> None:
    """Write the next batch of queued batched writes and post their outcomes.

    A batch is split into chunks that hold each key (an answer's player) at most once, so a
    chunk function sees the effects of the same key's earlier items in the batch (an answer's
    context, points today and streak, includes the same player's earlier answers). Each chunk
    is written and committed on its own (an answer is acknowledged only once it and its points
    are committed together); a failing chunk fails only its own items.
    """
    chunks: list[list[_Job]] = []
    seen_count: dict[Hashable, int] = {}
    for _ in range(min(len(jobs), MAX_BATCH)):
        job = jobs.popleft()
        n = seen_count.get(job.key, 0)
        seen_count[job.key] = n + 1
        if n == len(chunks):
            chunks.append([])
        chunks[n].append(job)
    chunks = [part for chunk in chunks for part in _by_function(chunk)]
    try:
        outcomes = _write_chunks(conn, chunks)
    except BaseException as exc:  # never leave a taken write unsettled
        failure = _not_recorded(sum(map(len, chunks)), Exception(repr(exc)))
        post(_settle, chunks, [[failure] * len(chunk) for chunk in chunks])
        raise
    post(_settle, chunks, outcomes)


def _by_function(chunk: list[_Job]) -> list[list[_Job]]:
    """A chunk as one part per chunk function, in order (one part: all the quiz's answers)."""
    write = chunk[0].write
    if all(job.write is write for job in chunk):
        return [chunk]
    parts: dict[ChunkWriter, list[_Job]] = {}
    for job in chunk:
        parts.setdefault(job.write, []).append(job)
    return list(parts.values())


def _write_chunks(conn: sqlite3.Connection, chunks: list[list[_Job]]) -> list[list[Any]]:
    """On the writer's thread: each chunk through its chunk function, tried again while the
    database is locked, until RETRY_FOR after its newest answer was queued."""
    outcomes: list[list[Any]] = []
    for chunk in chunks:
        write, items = chunk[0].write, [job.item for job in chunk]
        queued_at = max(job.queued_at for job in chunk)
        try:
            written = _retrying(functools.partial(write, conn, items), queued_at, "answers")
            outcomes.append(written)
        except Exception as exc:
            outcomes.append([_not_recorded(len(chunk), exc)] * len(chunk))
    return outcomes


def _not_recorded(count: int, exc: Exception) -> StorageUnavailable:
    """Log a failed write of `count` answers; the error each of their callers gets."""
    if is_locked(exc):  # not our fault, and no traceback tells an operator more
        log.warning(
            "%d answers were not recorded: the database stayed locked by another connection "
            "for %g s (%s)", count, RETRY_FOR, exc,
        )  # fmt: skip
    else:
        log.error("writing %d answers failed; none was recorded", count, exc_info=exc)
    failure = StorageUnavailable()
    failure.__cause__ = exc
    return failure


def _resolve(future: asyncio.Future[Any], result: Any, error: Exception | None) -> None:
    """On the event loop: a unit's outcome to its caller (unless the caller gave up)."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _settle(chunks: list[list[_Job]], outcomes: list[list[Any]]) -> None:
    """On the event loop: give every caller of a written batch its result or its error."""
    for chunk, results in zip(chunks, outcomes, strict=True):
        for job, result in zip(chunk, results, strict=True):
            if job.future.done():
                continue
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)


class Writer:
    """The event loop's side of the queue: hands it to the writer connection's thread while
    anything is queued, and owns the write lock that `transaction` takes."""

    def __init__(self) -> None:
        self._conn: aiosqlite.Connection | None = None
        self._queue = _Queue()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def depth(self) -> int:
        """Writes queued, not yet taken by the writer's thread (a gauge for operators)."""
        return len(self._queue.batched) + len(self._queue.units) + len(self._queue.later)

    def start(self, conn: aiosqlite.Connection) -> None:
        """Serve the queue on `conn` (the writer connection, autocommit) until `stop`."""
        self._conn = conn
        self._closing = self._queue.closing = False
        self._task = asyncio.create_task(self._write_loop(), name="sqlite-writer")

    async def stop(self) -> None:
        """Finish everything queued, then stop. Safe to call twice."""
        self._closing = True
        self._queue.closing = True
        self._queue.bell.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._conn = None

    async def submit(
        self, fn: Callable[[sqlite3.Connection], _T], *, background: bool = False
    ) -> _T:
        """Run `fn(connection)` on the writer's thread between two batches; its result.

        Queued beside the batched writes instead of taking the write lock: under load the
        writer's thread runs it as soon as its current batch is written, without the round
        trips through the event loop that handing a lock over takes while answers wait. A
        `background` one waits for a gap in the batched writes (at most LATER_AT_MOST).
        """
        if self._task is None or self._task.done():
            raise StorageUnavailable("The database is not open.")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        (self._queue.later if background else self._queue.units).append(_Unit(fn, future))
        self._queue.ring()
        self._wake.set()
        return cast(_T, await future)

    async def batched(self, key: Hashable, item: Any, write: ChunkWriter) -> Any:
        """Queue `item` for the batched path (`write` writes its chunk); its result once the
        chunk that holds it has committed."""
        if self._task is None or self._task.done() or self._closing:
            raise StorageUnavailable("The quiz is shutting down; nothing was recorded.")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.batched.append(_Job(key, item, write, future, time.monotonic()))
        self._queue.ring()
        self._wake.set()
        # A caller that gives up cancels only its future: the job stays queued and is
        # written whole (never half), and its outcome is dropped (`_settle` skips it).
        return await future

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """The write lock, for several statements awaited one by one on the writer.

        Tells the writer's thread, which may be waiting for more work while it holds the
        lock, to hand it back now.
        """
        self._queue.lock_wanted += 1
        self._queue.bell.set()
        try:
            await self._lock.acquire()
        finally:
            self._queue.lock_wanted -= 1
        try:
            yield
        finally:
            self._lock.release()

    async def _write_loop(self) -> None:
        """Keep the writer's thread on the queue, from start to stop: it leaves it only for a
        multi-statement transaction (then comes back once that has the lock no more), or if
        the thread itself failed (then it waits for the next write before trying again)."""
        while True:
            if not await self._serve_queue():
                self._wake.clear()
                await self._wake.wait()
            if self._closing and not self._queue:
                return

    async def _serve_queue(self) -> bool:
        """Let the writer's thread work through the queued writes (`_drain`); False if the
        thread itself failed.

        It holds the write lock meanwhile, so multi-statement transactions never interleave
        with it; it hands the lock back as soon as one asks for it (`exclusive`).
        """
        async with self._lock:
            try:
                loop = asyncio.get_running_loop()
                await self._on_writer(
                    _drain, self._queue, loop.call_soon_threadsafe, loop.is_closed
                )
            except Exception as exc:  # the writer's thread itself failed (closed connection)
                batch = list(self._queue.batched)
                units = [*self._queue.units, *self._queue.later]
                for pending in (self._queue.batched, self._queue.units, self._queue.later):
                    pending.clear()
                _settle([batch], [[_not_recorded(len(batch), exc)] * len(batch)])
                for unit in units:
                    _resolve(unit.future, None, StorageUnavailable())
                return False
            return True

    async def _on_writer(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn(sqlite3_connection, *args)` on the writer connection's thread, in one step.

        Each aiosqlite call is a round trip through the event loop (and a GIL hand-over); a
        unit of several statements done call by call waits for the loop between them while
        holding the writer. aiosqlite runs arbitrary functions on its thread only through
        `Connection._execute`, so this is the one place that uses it (aiosqlite is pinned in
        uv.lock; the storage tests run every path through here).
        """
        conn = self._conn
        if conn is None:
            raise StorageUnavailable("The database is not open.")
        execute = cast(Callable[..., Awaitable[_T]], conn._execute)
        return await execute(fn, conn._conn, *args)
