"""Discord adapter overhead per interaction: gateway dispatch in -> interaction callback out.

The real discord.py client and DiscordAdapter, over a real SQLite file and the shipped
question bank, talk to the fake Discord of the test suite on 127.0.0.1. For each sample the
clock starts just before the INTERACTION_CREATE frame is written to the gateway socket and
stops when the bot's HTTP client starts the callback request (an aiohttp trace): gateway
parsing, discord.py's dispatch, the service call (SQLite write included) and rendering. The
arrival of that request at the fake is shown too (it adds the loopback HTTP round and the
fake's own parsing, which shares the event loop and the CPU with the bot). Interactions run
one at a time. Run by hand:

    uv run python bench/discord_adapter.py [samples]     # default 1000 of each kind

Target: p99 <= 5 ms. Nothing here is part of the test suite.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.discord.adapter import DiscordAdapter  # noqa: E402
from bot.core.bank.question_bank import load_bank  # noqa: E402
from bot.core.common.clock import SystemClock  # noqa: E402
from tests.fakes.discord_api import FakeDiscord, FakeUser, running_bot  # noqa: E402

TARGET_P99_MS = 5.0
WARMUP = 100
KINDS = ("/question", "answer click", "/score")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class RequestClock:
    """When the bot's HTTP client starts each request (an aiohttp trace on its session)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.in_service = 0.0  # ms inside QuizService during the last interaction
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._on_start)

    async def _on_start(self, session: object, context: object, params: Any) -> None:
        self.started[params.url.path] = time.monotonic()

    def install(self, adapter: DiscordAdapter) -> None:
        adapter.client.http.http_trace = self.trace  # used when the session is created
        for method in ("ask", "press", "score"):  # time spent inside QuizService
            setattr(adapter.service, method, self._timing(getattr(adapter.service, method)))

    def _timing(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return await method(*args, **kwargs)
            finally:
                self.in_service = (time.monotonic() - start) * 1000

        return timed_call


async def timed(
    fake: FakeDiscord, clock: RequestClock, payload: dict[str, Any]
) -> tuple[float, float, float, int | None]:
    """ms from dispatch to the callback request leaving the bot, the part of it spent outside
    QuizService (the adapter and discord.py), and ms until the request reached Discord."""
    start = time.monotonic()
    callback = await fake.interact(payload)
    total = (clock.started[f"/api/v10{callback.path}"] - start) * 1000
    return total, total - clock.in_service, (callback.at - start) * 1000, callback.message_id


async def main(samples: int) -> None:
    bank = load_bank(ROOT / "questions")
    out: dict[str, list[float]] = {kind: [] for kind in KINDS}
    own: dict[str, list[float]] = {kind: [] for kind in KINDS}
    arrived: dict[str, list[float]] = {kind: [] for kind in KINDS}
    clock = RequestClock()
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeDiscord() as fake, running_bot(
            fake, Path(tmp) / "bench.db", bank, SystemClock(), ask_rate=(10**6, 60.0),
            setup=clock.install,
        ):  # fmt: skip
            for i in range(WARMUP + samples):
                user = FakeUser(10_000 + i, f"user{i}")
                asked = await timed(fake, clock, fake.command("question", user=user))
                message_id = asked[3]
                assert message_id is not None
                button = fake.messages[message_id]["components"][0]["components"][0]
                click = fake.click(message_id, button["custom_id"], user=user)
                answered = await timed(fake, clock, click)
                scored = await timed(fake, clock, fake.command("score", user=user))
                if i >= WARMUP:
                    for kind, result in zip(KINDS, (asked, answered, scored), strict=True):
                        out[kind].append(result[0])
                        own[kind].append(result[1])
                        arrived[kind].append(result[2])
    print(f"Discord adapter: gateway dispatch in -> interaction callback out ({samples} each,")
    print(f"one at a time; python {platform.python_version()}, {_cpus()} CPUs, SQLite in /tmp)")
    print(f"  {'':13}  {'request out':19}  {'adapter+discord.py':19}  {'at the fake':19}")
    print(f"  {'':13}" + "  p50       p99     " * 3)
    worst = 0.0
    for kind in KINDS:
        worst = max(worst, pct(out[kind], 99))
        row = [pct(series[kind], p) for series in (out, own, arrived) for p in (50, 99)]
        print(f"  {kind:13}  " + "  ".join(f"{v:5.2f} ms" for v in row))
    verdict = "meets" if worst <= TARGET_P99_MS else "MISSES"
    print(f"worst p99 (request out) {worst:.2f} ms: {verdict} the target <= {TARGET_P99_MS:.0f} ms")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
