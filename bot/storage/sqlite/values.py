"""How the SQLite repositories store values SQLite has no type for.

Moments are UTC POSIX timestamps (REAL columns): they sort and compare in SQL as numbers, and
every table and index of the schema is built on that, so all repositories use these two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Params = tuple[Any, ...] | dict[str, Any]
"""A statement's parameters: positional (`?`) or named (`:name`)."""


def to_ts(moment: datetime) -> float:
    """A timezone-aware moment as the POSIX timestamp stored for it."""
    return moment.timestamp()


def from_ts(value: float) -> datetime:
    """A stored POSIX timestamp as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)
