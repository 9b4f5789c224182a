"""Time as the core sees it: a Clock port, timezone-aware UTC inside, local only at the edges.

Services take a Clock so tests can fix and move time without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
