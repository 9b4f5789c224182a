"""Health: does the database answer, and is each enabled platform connected?

`Health.check()` is what `/healthz` serves: healthy only when a cheap read of the database
answers within `timeout` seconds and every watched adapter says it is connected now. The
report names what failed, so `stackprep health` and a container's health status can say why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.common.errors import QuizError

PROBE_TIMEOUT = 2.0  # seconds the database has to answer the health read

Probe = Callable[[], Awaitable[object]]


class Connectable(Protocol):
    """What health asks of an adapter (bot.adapters.base.Adapter has both)."""

    name: str

    def connected(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Report:
    healthy: bool
    checks: dict[str, str]  # part -> "ok" / "connected", or what is wrong with it

    @property
    def reason(self) -> str:
        """What is wrong, one line ("" when healthy)."""
        return "; ".join(
            f"{part}: {state}"
            for part, state in self.checks.items()
            if state not in {"ok", "connected"}
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.healthy else "unavailable"}
        if not self.healthy:
            body["reason"] = self.reason
        body["checks"] = self.checks
        return body


@dataclass(eq=False)
class Health:
    """`database`: a cheap read of the database (None: no database, e.g. in-memory storage).
    Adapters are added with `watch` once they are created."""

    database: Probe | None = None
    timeout: float = PROBE_TIMEOUT
    adapters: list[Connectable] = field(default_factory=list)

    def watch(self, adapters: Iterable[Connectable]) -> None:
        self.adapters.extend(adapters)

    async def check(self) -> Report:
        checks = {"database": await self._database()}
        for adapter in self.adapters:
            try:
                up = adapter.connected()
            except Exception as exc:  # a health check never fails itself
                checks[adapter.name] = f"state unknown ({type(exc).__name__})"
            else:
                checks[adapter.name] = "connected" if up else "not connected"
        healthy = all(state in {"ok", "connected"} for state in checks.values())
        return Report(healthy, checks)

    async def _database(self) -> str:
        if self.database is None:
            return "ok"
        try:
            async with asyncio.timeout(self.timeout):
                await self.database()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except QuizError as exc:  # StorageUnavailable: e.g. not open (yet), or closed
            return exc.message
        except Exception as exc:
            return f"error ({type(exc).__name__}: {str(exc)[:200]})"
        return "ok"
