"""What can go wrong with the database file, told apart: SQLite's error codes sorted into a
lock (busy: try again), a full disk, and faults no retry fixes (read-only, I/O error, damage);
a log of faults that says each kind at most once a minute; the quick check at open; and the
lock file that tells `stackprep db restore` whether anything has the database open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import aiosqlite

from bot.core.common.errors import StorageFailed, StorageFull, StorageUnavailable

log = logging.getLogger(__name__)

Kind = Literal["busy", "full", "failed", "other"]

FAULT_LOG_INTERVAL = 60.0  # seconds: each kind of fault is logged at most this often
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_FULL = {sqlite3.SQLITE_FULL}
_FAILED = {
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_NOTADB,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_NOLFS,
}
_WHAT = {
    sqlite3.SQLITE_FULL: "the disk is full: nothing can be written until space is freed",
    sqlite3.SQLITE_READONLY: "the database cannot be written (read-only file, folder or mount)",
    sqlite3.SQLITE_IOERR: "an I/O error on the database file (failing disk or lost mount?)",
    sqlite3.SQLITE_CORRUPT: (
        "the database file is damaged: stop Stackprep and restore a backup "
        "(`stackprep db check --full`, then `stackprep db restore PATH`)"
    ),
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened (removed or moved?)",
    sqlite3.SQLITE_NOTADB: "the file is not a SQLite database any more",
    sqlite3.SQLITE_PERM: "no permission to write the database",
}


def primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of `exc` (the extended code's low byte), if it has one."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_fault(exc: BaseException) -> bool:
    """Whether `exc` is SQLite failing (a lock, the disk, the file), as opposed to a bug or a
    constraint the caller handles (IntegrityError, ProgrammingError)."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def kind_of(exc: BaseException) -> Kind:
    """busy (another connection holds a lock: may be tried again), full (the disk), failed
    (read-only, I/O error, damaged: no retry helps), or other."""
    code = primary_code(exc)
    if code in _BUSY:
        return "busy"
    if code in _FULL:
        return "full"
    if code in _FAILED:
        return "failed"
    return "other"


def what_happened(exc: BaseException) -> str:
    """One line for an operator: what the error means."""
    code = primary_code(exc)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    meaning = _WHAT.get(code) if code is not None else None
    return f"{meaning} ({name}: {exc})" if meaning else f"{name}: {exc}"


def user_error(kind: Kind) -> StorageUnavailable:
    """The error a person gets for a fault of this kind (its message is theirs to read)."""
    if kind == "full":
        return StorageFull()
    if kind == "busy":
        return StorageUnavailable()
    return StorageFailed()


class FaultLog:
    """Logs database faults, each kind at most once per FAULT_LOG_INTERVAL, with how many were
    held back since. A full disk made every answer log a traceback: 4,450 in 25 s.

    Thread-safe: the writer's thread reports too.
    """

    def __init__(
        self, path: Path, *, interval: float = FAULT_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.path = path
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._fault: tuple[float, str] | None = None  # the latest full/failed: when, what

    def recent(self, within: float | None = None) -> str | None:
        """What the latest fault of the file itself was (a full disk, read-only, I/O, damage),
        if one happened in the last `within` seconds (default: the log interval); else None.
        A busy database is not a fault of the file."""
        with self._lock:
            fault = self._fault
        if fault is None:
            return None
        at, what = fault
        return what if self.clock() - at <= (self.interval if within is None else within) else None

    def report(self, exc: BaseException, *, doing: str = "a write") -> None:
        """Log `exc` (met while `doing`) unless its kind was logged less than a minute ago."""
        kind = kind_of(exc)
        key = f"{kind}:{primary_code(exc)}"
        with self._lock:
            now = self.clock()
            if kind not in {"busy", "other"}:
                self._fault = (now, what_happened(exc))
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._held[key] = self._held.get(key, 0) + 1
                return
            self._last[key] = now
            held = self._held.pop(key, 0)
        since = f"; {held} more like it since the last report" if held else ""
        if kind == "other":  # not a fault of the file: a bug, so the traceback helps
            log.error("database %s: %s failed%s", self.path, doing, since, exc_info=exc)
        elif kind == "busy":
            log.warning("database %s: %s: %s%s", self.path, doing, what_happened(exc), since)
        else:
            log.error("database %s: %s failed: %s%s", self.path, doing, what_happened(exc), since)


async def problems(conn: aiosqlite.Connection, *, full: bool = False) -> list[str]:
    """`PRAGMA quick_check` (or, `full`, `integrity_check`): the problems found, [] if none.

    quick_check reads every page once but does not match indexes against their tables; on the
    benchmark VM it takes 0.5 s for a 1M-answer database (132 MB) with the file in the page
    cache and about 4 s from a cold cache, integrity_check 2.8 s cached (bench/backup.py).
    """
    pragma = "integrity_check" if full else "quick_check"
    try:
        rows = await conn.execute_fetchall(f"PRAGMA {pragma}")
    except sqlite3.DatabaseError as exc:
        if kind_of(exc) == "busy" or not is_fault(exc):
            raise
        return [str(exc)]
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def damaged(path: Path, found: list[str]) -> str:
    """The refusal for a damaged database: the path, the first problem, what to do."""
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return (
        f"The database {path} is damaged ({found[0][:200]}{more}); Stackprep will not write "
        "to it. Stop Stackprep, then restore the newest good backup: `stackprep db restore "
        f"{path.parent / 'backups'}/<newest>.db` (`stackprep db check --full` lists every "
        "problem)."
    )


class ProcessLock:
    """An advisory lock (flock) on `<database>.lock`, beside the database file.

    Every process that opens the database (the bot, `stackprep daily list`, ...) holds it
    shared; `stackprep db restore` takes it exclusively, so a restore refuses while anything
    has the database open, and nothing opens it while a restore runs. The operating system
    drops the lock when its process ends, even on kill -9, so it never goes stale (a pid file
    would). SQLite's own locks cannot say this: in WAL mode an idle bot holds none.
    """

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool) -> bool:
        """Take the lock without waiting; False if another process holds it (in a conflicting
        mode). Raises OSError if the lock file cannot be created."""
        if sys.platform == "win32":  # pragma: no cover - no flock; Stackprep runs on POSIX
            return True
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except PermissionError:  # made by another user (root restoring): reading is enough
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go (closing the file drops the lock). Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
