"""`stackprep db migrate|backup`: the operator's database tools."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.config import Config
from bot.storage.sqlite import SCHEMA_VERSION, Database
from bot.storage.sqlite import backup as online_backup


async def migrate(config: Config, out: TextIO) -> int:
    """Apply pending migrations (opening the database does) and say the schema version."""
    database = Database(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    await database.open()
    await database.close()
    print(f"{config.database.path}: schema version {SCHEMA_VERSION}", file=out)
    return 0


async def backup(config: Config, target: Path, out: TextIO) -> int:
    """An online backup with SQLite's backup API: safe while the bot runs."""
    await online_backup(config.database.path, target)
    print(f"backed up {config.database.path} to {target}", file=out)
    return 0
