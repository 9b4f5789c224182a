"""Backups an operator can trust: `stackprep db backup|check|restore` and the scheduled backups
(bot/jobs/backup.py runs `backup_into` every `[database] backup_every`).

A backup is copied with SQLite's online backup API: aiosqlite copies every page in one step
inside a read transaction, which in WAL mode sees one consistent snapshot without blocking the
bot's writer, so it is safe while the bot runs. The copy is written to a temporary file in the
target's folder, switched to a rollback journal (one self-contained file that can be copied
anywhere, with no -wal beside it), checked with `PRAGMA integrity_check`, and only then renamed
into place: a failed or bad copy leaves no file behind and never replaces a good one.

A restore refuses while anything has the database open (the lock file,
bot/storage/sqlite/health.py), checks the backup the same way, keeps the database it replaces
(with its -wal) under a timestamped name, and swaps the copy in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.storage.sqlite.health import ProcessLock, kind_of, primary_code, problems
from bot.storage.sqlite.migrations import Refused, identify

BACKUP_NAME = re.compile(r"stackprep-(\d{8}T\d{6}Z)\.db")
PARTIAL = ".partial"  # the suffix of a copy being written
STALE_PARTIAL = 3600.0  # seconds after which a scheduled backup's leftover partial is removed
SIDECARS = ("-wal", "-journal")  # files that belong to a database and move with it


class BackupError(Exception):
    """A backup, check or restore that cannot be done: one line saying why and what to do.
    Nothing was changed."""


def backup_name(when: datetime) -> str:
    """The file name of a scheduled backup taken at `when` (UTC; names sort by time)."""
    return f"stackprep-{when.astimezone(UTC):%Y%m%dT%H%M%SZ}.db"


def backups_in(folder: Path) -> list[Path]:
    """The scheduled backups in `folder`, oldest first (other files are not ours to touch)."""
    try:
        names = sorted(p.name for p in folder.iterdir() if BACKUP_NAME.fullmatch(p.name))
    except FileNotFoundError:
        return []
    return [folder / name for name in names]


def taken_at(backup: Path) -> datetime | None:
    """When a scheduled backup was taken, from its name."""
    match = BACKUP_NAME.fullmatch(backup.name)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@contextlib.asynccontextmanager
async def _reading(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A read-only connection to an existing database (never creates or changes the file)."""
    uri = f"{(await asyncio.to_thread(path.resolve)).as_uri()}?mode=ro"
    conn = await aiosqlite.connect(uri, uri=True)
    try:
        yield conn
    finally:
        await conn.close()


async def _ours(path: Path, what: str) -> int:
    """`path`'s schema version if it is a Stackprep database; else BackupError."""
    try:
        async with _reading(path) as conn:
            return await identify(conn)
    except Refused as exc:
        raise BackupError(f"{what} {path}: {exc}") from None
    except sqlite3.Error as exc:
        raise BackupError(_unreadable(path, what, exc)) from None


def _unreadable(path: Path, what: str, exc: sqlite3.Error) -> str:
    if primary_code(exc) == sqlite3.SQLITE_NOTADB:
        return f"{what} {path} is not a SQLite database."
    if primary_code(exc) == sqlite3.SQLITE_CORRUPT:
        return f"{what} {path} is damaged ({exc}); `stackprep db check --full` lists what."
    if kind_of(exc) == "busy":
        return f"{what} {path} is locked by another program ({exc}); try again."
    return f"Cannot read {what.lower()} {path}: {exc}."


def _existing(path: Path, what: str) -> None:
    if not path.exists():
        raise BackupError(f"There is no {what.lower()} at {path}.")
    if path.is_dir():
        raise BackupError(f"{what} {path} is a directory, not a database file.")


def _fsync(path: Path, *, folder: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if folder else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(folder: Path, name: str) -> Path:
    """An empty file for a copy being written, in `folder` (so the rename is atomic)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=PARTIAL, dir=folder)
    except OSError as exc:
        raise BackupError(
            f"Cannot write to {folder}: {exc.strerror or exc}. Choose a place you can write to."
        ) from None
    os.close(fd)
    return Path(temp)


async def _copy(source: Path, temp: Path, what: str) -> None:
    """Copy `source` into `temp` with the online backup API; then make the copy one
    self-contained file and check it with integrity_check."""
    try:
        async with _reading(source) as src:
            await identify(src)
            async with aiosqlite.connect(temp, isolation_level=None) as dst:
                await src.backup(dst)
                await dst.execute("PRAGMA journal_mode = DELETE")
                found = await problems(dst, full=True)
    except Refused as exc:
        raise BackupError(f"{what} {source}: {exc}") from None
    except sqlite3.Error as exc:
        if kind_of(exc) == "full":
            full = f"The disk holding {temp.parent} is full; nothing was written."
            raise BackupError(full) from None
        raise BackupError(_unreadable(source, what, exc)) from None
    if found:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise BackupError(
            f"The copy of {source} failed its integrity check ({found[0][:200]}{more}), so it "
            f"was not kept; `stackprep db check --full {source}` tells whether the database "
            "itself is damaged."
        )
    await asyncio.to_thread(_fsync, temp)


async def backup(source: Path, target: Path) -> int:
    """Copy the live database at `source` to `target` (safe while the bot runs); its size.

    The copy is checked before it is renamed into place. `target` may be a new file or an
    earlier Stackprep backup (replaced only once the new copy is good); anything else
    (a folder, another program's file, the database itself) is refused with BackupError, and
    no partial file is left behind.
    """
    if await asyncio.to_thread(_replaces, source, target):
        try:
            await _ours(target, "Existing file")  # an earlier backup may be replaced
        except BackupError:
            raise BackupError(
                f"{target} exists and is not a Stackprep database; refusing to overwrite it. "
                "Give a new file name."
            ) from None
    await _ours(source, "Database")
    temp = await asyncio.to_thread(_temporary, target.parent, target.name)
    try:
        await _copy(source, temp, "Database")
        return await asyncio.to_thread(_put, temp, target)
    finally:
        await asyncio.to_thread(_discard, temp)


def _replaces(source: Path, target: Path) -> bool:
    """Whether `target` is a file with content the backup would replace; BackupError for a
    target that cannot be one (a folder, the database itself) or a missing source."""
    _existing(source, "Database")
    if target.is_dir():
        raise BackupError(
            f"{target} is a directory: give the backup's file name, e.g. "
            f"{target / backup_name(datetime.now(UTC))}"
        )
    if not target.exists():
        return False
    if os.path.samefile(target, source):
        raise BackupError(f"{target} is the database itself; back it up to another file.")
    return target.stat().st_size > 0


def _put(temp: Path, target: Path) -> int:
    """Rename the checked copy into place, durably; its size."""
    try:
        os.replace(temp, target)
    except OSError as exc:
        raise BackupError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    _fsync(target.parent, folder=True)
    return target.stat().st_size


def _discard(temp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()


async def backup_into(source: Path, folder: Path, *, keep: int, now: datetime) -> Path:
    """A scheduled backup: `folder/stackprep-<UTC time>.db`, checked; then only the newest
    `keep` are kept. Refused (BackupError) when the disk holding `folder` has less free space
    than twice the database's size: a backup must never fill the disk the database needs."""
    size, free = await asyncio.to_thread(_sizes, source, folder)
    if free < 2 * size:
        raise BackupError(
            f"Not enough free space for a backup in {folder}: {free / 1e6:,.0f} MB free, the "
            f"database is {size / 1e6:,.0f} MB (a backup needs twice its size free); free "
            "some space or lower [database] backup_keep."
        )
    target = folder / backup_name(now)
    await backup(source, target)
    await asyncio.to_thread(prune, folder, keep)
    return target


def _sizes(source: Path, folder: Path) -> tuple[int, int]:
    """(the database's size with its -wal, the free space where its backups go)."""
    _existing(source, "Database")
    folder.mkdir(parents=True, exist_ok=True)
    size = sum(p.stat().st_size for p in _with_sidecars(source) if p.exists())
    return size, shutil.disk_usage(folder).free


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` scheduled backups (and partial copies a crash left
    behind over an hour ago); the deleted ones."""
    gone = backups_in(folder)[:-keep] if keep > 0 else backups_in(folder)
    for old in gone:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    cutoff = time.time() - STALE_PARTIAL
    for partial in folder.glob(f".stackprep-*{PARTIAL}"):
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
    return gone


async def check(path: Path, *, full: bool = False) -> tuple[int, list[str]]:
    """`stackprep db check`: (schema version, problems) of the database at `path`, read only:
    quick_check, or with `full` integrity_check (also matches every index to its table)."""
    await asyncio.to_thread(_existing, path, "Database")
    version = await _ours(path, "Database")
    try:
        async with _reading(path) as conn:
            return version, await problems(conn, full=full)
    except sqlite3.Error as exc:
        raise BackupError(_unreadable(path, "Database", exc)) from None


async def restore(source: Path, target: Path, *, now: datetime) -> Path | None:
    """Swap the backup at `source` in as the database at `target`; where the database it
    replaced was kept (None if there was none).

    Refused (BackupError, nothing changed) while anything has the database open, or when the
    backup is not a Stackprep database, is newer than this Stackprep, or fails its
    integrity check.
    """
    await asyncio.to_thread(_restorable, source, target)
    await _ours(source, "Backup")
    lock = ProcessLock(target)
    try:
        held = await asyncio.to_thread(lock.acquire, exclusive=True)
    except OSError as exc:
        raise BackupError(f"Cannot write to {target.parent}: {exc.strerror or exc}.") from None
    if not held:
        raise BackupError(
            f"Stackprep is running on {target} (or another stackprep command has it open): "
            "stop it first, then restore. Nothing was changed."
        )
    try:
        temp = await asyncio.to_thread(_temporary, target.parent, target.name)
        try:
            await _copy(source, temp, "Backup")
            return await asyncio.to_thread(_swap, temp, target, now)
        finally:
            await asyncio.to_thread(_discard, temp)
    finally:
        lock.release()


def _restorable(source: Path, target: Path) -> None:
    _existing(source, "Backup")
    if target.exists() and os.path.samefile(source, target):
        raise BackupError(f"{source} is the database itself; give a backup to restore from.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Cannot write to {target.parent}: {exc.strerror or exc}.") from None


def _with_sidecars(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in SIDECARS)]


def _same_owner(copy: Path, original: Path) -> None:
    """Give the copy the original's permissions and, when we may (root restoring for a
    service user), its owner: the bot must be able to write what an operator restored."""
    status = original.stat()
    os.chmod(copy, stat.S_IMODE(status.st_mode))
    with contextlib.suppress(PermissionError):
        os.chown(copy, status.st_uid, status.st_gid)


def _swap(temp: Path, target: Path, now: datetime) -> Path | None:
    """Keep the database at `target` (with its -wal, so it stays whole), then rename `temp`
    into its place. The -shm index is dropped: SQLite rebuilds it, and a stale one must not
    meet the restored file."""
    kept: Path | None = None
    moved: list[tuple[Path, Path]] = []
    if target.exists():
        _same_owner(temp, target)
        kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
        for old, new in zip(_with_sidecars(target), _with_sidecars(kept), strict=True):
            if old.exists():
                os.replace(old, new)
                moved.append((old, new))
    try:
        with contextlib.suppress(FileNotFoundError):
            target.with_name(target.name + "-shm").unlink()
        os.replace(temp, target)
    except OSError as exc:
        for old, new in reversed(moved):  # put the database back as it was
            with contextlib.suppress(OSError):
                os.replace(new, old)
        failed = f"Cannot write {target}: {exc.strerror or exc}. Nothing was changed."
        raise BackupError(failed) from None
    _fsync(target.parent, folder=True)
    return kept
