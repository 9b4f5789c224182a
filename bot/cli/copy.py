"""`stackprep db copy --from SQLITE --to POSTGRESQL`: move a community's database to PostgreSQL
(bot/app/dbcopy.py does the work) and print what was copied and checked.

The --to URL may carry a password. It is never printed: the target is named by shown_url, and
every line this command writes (and every log line while it runs) has the password masked in
any letter case or percent-encoding, should a driver's message ever quote it.
"""

from __future__ import annotations

from typing import TextIO

from bot.app.dbcopy import Copied, CopyFailed, copy_database, source_path
from bot.cli.output import CommandFailed
from bot.config import Config
from bot.core.common.dburl import database_url
from bot.core.common.errors import StorageUnavailable
from bot.core.common.secret import passwords_in
from bot.log import Redactor, setup_logging


def target_of(config: Config, to: str | None) -> str:
    """--to, else [database] url (STACKPREP_DATABASE_URL); checked as `[database] url` is."""
    if to is None:
        if config.database.url is None:
            raise CommandFailed(
                "Name the PostgreSQL database to copy into: --to postgresql://USER@HOST/DB "
                "(or set STACKPREP_DATABASE_URL)"
            )
        return config.database.url.reveal()
    try:
        return database_url(to)
    except ValueError as exc:
        raise CommandFailed(f"--to: {exc}") from None


async def copy(config: Config, source: str | None, to: str | None, out: TextIO) -> int:
    """Copy, then print one row per table and the boards' totals; exit 0. Any failure is a
    CommandFailed line (exit 1) and the target stays empty."""
    url = target_of(config, to)
    secrets = passwords_in(url)
    redact = Redactor(secrets)
    setup_logging(config.log.level, [*config.secret_values(), *secrets], config.log.format)
    try:
        path = source_path(source) if source is not None else config.database.path
        copied = await copy_database(path, url)
    except CopyFailed as exc:
        raise CommandFailed(redact(str(exc))) from None
    except StorageUnavailable as exc:  # the target could not be opened or migrated
        raise CommandFailed(redact(exc.message)) from None
    for line in report(copied):
        print(redact(line), file=out)
    return 0


def report(copied: Copied) -> list[str]:
    """The short table: rows per table, the boards' sums, one closing line."""
    totals = copied.totals
    width = max(len(t) for t in copied.tables)
    lines = [f"{'table'.ljust(width)}  {'rows':>10}"]
    lines += [f"{t.ljust(width)}  {totals.rows[t]:>10,}" for t in copied.tables]
    lines += [
        f"boards: {len(totals.boards)} (community or global, week or all time), each one's "
        "points, right and answered equal to the source's",
        f"players' totals: {totals.players[0]:,} points, {totals.players[1]:,} right of "
        f"{totals.players[2]:,} answers, equal to the source's",
        f"copied {copied.source} into {copied.target}: {len(copied.tables)} tables, "
        f"{sum(totals.rows.values()):,} rows, each table's count equal to the source's "
        f"({copied.seconds:.1f} s)",
    ]
    return lines
