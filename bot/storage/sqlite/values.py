"""How the SQLite repositories store values SQLite has no type for.

Moments are UTC POSIX timestamps (REAL columns): they sort and compare in SQL as numbers, and
every table and index of the schema is built on that, so all repositories use these two.
"""

from __future__ import annotations

from typing import Any

from bot.storage.rows.values import from_ts, to_ts  # shared with PostgreSQL

__all__ = ["Params", "from_ts", "to_ts"]

Params = tuple[Any, ...] | dict[str, Any]
"""A statement's parameters: positional (`?`) or named (`:name`)."""
