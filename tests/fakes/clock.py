"""A clock that only moves when told to (services take a Clock; tests never sleep for it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class FixedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class FakeTimers:
    """`sleep` for code that waits on a FixedClock: each sleep waits until the test moves the
    clock past its end with `advance`, which wakes the sleepers in time order and lets each
    run on (real I/O included) until every task is asleep again or done."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._count = 0

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._count += 1
        self._sleepers.append((self.clock.now() + timedelta(seconds=seconds), self._count, future))
        try:
            await future
        finally:
            self._sleepers = [s for s in self._sleepers if s[2] is not future]

    @property
    def sleeping(self) -> int:
        return sum(1 for s in self._sleepers if not s[2].done())

    async def settle(self, sleepers: int | None = None, within: float = 5.0) -> None:
        """Wait (in real time) until `sleepers` tasks sleep here (default: as many as
        before), with a few loop turns for work that needs no sleep."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for _ in range(20):
                await asyncio.sleep(0)
            if sleepers is None or self.sleeping >= sleepers:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.sleeping} sleeping, waited for {sleepers}")
            await asyncio.sleep(0.005)

    async def advance(self, seconds: float, *, sleepers: int | None = None) -> None:
        """Move the clock on by `seconds`, waking each sleeper at its own time; `sleepers`:
        how many tasks to wait for to sleep again after each wake (default: as many)."""
        end = self.clock.now() + timedelta(seconds=seconds)
        while True:
            due = sorted((s for s in self._sleepers if not s[2].done() and s[0] <= end),
                         key=lambda s: (s[0], s[1]))  # fmt: skip
            if not due:
                break
            before = self.sleeping
            at, _, future = due[0]
            if at > self.clock.now():
                self.clock.current = at
            future.set_result(None)
            await self.settle(before if sleepers is None else sleepers)
        self.clock.current = max(self.clock.current, end)
