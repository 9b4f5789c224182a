"""`stackprep db migrate|backup|check|restore`: the operator's database tools.

A tool that cannot do its work raises CommandFailed with one line (exit 1) and leaves every
file as it was: bot/storage/sqlite/backup.py does the work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.cli.output import CommandFailed
from bot.config import Config
from bot.storage.sqlite import SCHEMA_VERSION, Database
from bot.storage.sqlite.backup import BackupError
from bot.storage.sqlite.backup import backup as online_backup
from bot.storage.sqlite.backup import check as check_file
from bot.storage.sqlite.backup import restore as restore_file
from bot.storage.sqlite.database import backups_of

SHOWN_PROBLEMS = 20


async def migrate(config: Config, out: TextIO) -> int:
    """Apply pending migrations (opening the database does) and say the schema version."""
    if config.database.url is not None:
        from bot.storage.postgres import SCHEMA_VERSION as PG_VERSION
        from bot.storage.postgres import PgDatabase

        pg = PgDatabase(config.database.url.reveal(), min_size=1, max_size=1)
        await pg.open()
        await pg.close()
        print(f"{pg.url}: schema version {PG_VERSION}", file=out)
        return 0
    database = Database(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    await database.open()
    await database.close()
    print(f"{config.database.path}: schema version {SCHEMA_VERSION}", file=out)
    return 0


def sqlite_only(config: Config, doing: str) -> None:
    """These tools work on SQLite's file; on PostgreSQL the server's own tools do the job."""
    if config.database.url is not None:
        raise CommandFailed(
            f"`stackprep db {doing}` works on a SQLite file, and [database] url points at "
            "PostgreSQL: use PostgreSQL's own tools there (pg_dump -Fc for a backup, "
            "pg_restore to put one back, amcheck to look for damage)."
        )


async def backup(config: Config, target: Path, out: TextIO) -> int:
    """An online backup with SQLite's backup API, checked before it is put in place."""
    sqlite_only(config, "backup")
    try:
        size = await online_backup(config.database.path, target)
    except BackupError as exc:
        raise CommandFailed(str(exc)) from None
    print(f"backed up {config.database.path} to {target} ({_size(size)}, checked)", file=out)
    return 0


async def check(config: Config, path: Path | None, full: bool, out: TextIO) -> int:
    """quick_check (or integrity_check) of the database, or of a backup; exit 1 on problems."""
    if path is None:
        sqlite_only(config, "check")
    path = path or config.database.path
    how = "integrity_check" if full else "quick_check"
    try:
        version, found = await check_file(path, full=full)
    except BackupError as exc:
        raise CommandFailed(str(exc)) from None
    if not found:
        print(f"{path}: ok ({how}; schema version {version})", file=out)
        return 0
    print(f"{path}: damaged: {how} found {len(found)} problem(s):", file=out)
    for problem in found[:SHOWN_PROBLEMS]:
        print(f"  {problem}", file=out)
    if len(found) > SHOWN_PROBLEMS:
        print(f"  ... and {len(found) - SHOWN_PROBLEMS} more", file=out)
    print(
        "Restore a good backup with `stackprep db restore PATH` (the scheduled ones are in "
        f"{backups_of(config.database.path)}).",
        file=out,
    )
    return 1


async def restore(config: Config, source: Path, out: TextIO) -> int:
    """Swap a checked backup in as the database; refused while the bot runs."""
    sqlite_only(config, "restore")
    target = config.database.path
    try:
        kept = await restore_file(source, target, now=datetime.now(UTC))
    except BackupError as exc:
        raise CommandFailed(str(exc)) from None
    before = f"the database it replaced is kept as {kept}" if kept else "there was none before"
    print(f"restored {source} as {target} (checked); {before}", file=out)
    return 0


def _size(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{size / 1e3:,.0f} kB"
