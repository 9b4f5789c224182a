"""How both SQL engines store moments: UTC POSIX timestamps (SQLite REAL, PostgreSQL double
precision). They sort and compare in SQL as numbers, and every table and index of both schemas
is built on that, so all repositories use these two."""

from __future__ import annotations

from datetime import UTC, datetime


def to_ts(moment: datetime) -> float:
    """A timezone-aware moment as the POSIX timestamp stored for it."""
    return moment.timestamp()


def from_ts(value: float) -> datetime:
    """A stored POSIX timestamp as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)
