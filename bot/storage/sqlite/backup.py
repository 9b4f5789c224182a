"""`stackprep db backup`: a copy of a live database through SQLite's online backup API.

aiosqlite copies every page in one step inside a read transaction: in WAL mode that sees one
consistent snapshot without blocking the bot's writer, so it is safe while the bot runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite

from bot.core.common.errors import StorageUnavailable


async def backup(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's online backup API (safe while the bot runs)."""
    if not await asyncio.to_thread(source.exists):
        raise StorageUnavailable(f"There is no database at {source}.")
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    async with aiosqlite.connect(source) as src, aiosqlite.connect(target) as dst:
        await src.backup(dst)
