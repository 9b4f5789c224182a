"""Scheduler leader takeover on PostgreSQL: two real `stackprep run` processes on one schema
(each serving one of two shards of the fake Discord on 127.0.0.1, tests.fakes.replicas.py),
a daily fan-out to PLACES places under way, and the leader killed with SIGKILL at KILL_AT
posts; five times. Run by hand, with a PostgreSQL server:

    eval "$(.ci/postgres start)"                  # a throwaway server, as CI starts it
    uv run python bench/postgres_leader.py        # 5 runs
    uv run python bench/postgres_leader.py --runs 3 --url postgresql://me@127.0.0.1/db

For each run: how long after the kill the other process held the lock (its name in the
`leader` table, polled every 50 ms) and how long until posting resumed (the first new daily
post at the fake), with the places missing and posted twice. Target (issue 14): takeover
within 15 s, 0 missing, 0 duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("STACKPREP_TEST_POSTGRES_URL")  # tests.fakes.postgres takes it out

from tests.fakes.postgres import ENV_URL, fresh_schema  # noqa: E402
from tests.fakes.replicas import (  # noqa: E402
    FanOutDiscord,
    bot_process,
    leader_pid,
    seed_due_places,
)

PLACES = 200
KILL_AT = 60
TARGET = 15.0


async def one_run(base: str, folder: Path) -> tuple[float, float, int, int]:
    """(lock taken over, posting resumed) seconds after the kill, missing, duplicated."""
    async with fresh_schema(base) as url:
        await seed_due_places(url, PLACES)
        async with FanOutDiscord(PLACES) as fake:
            async with (
                bot_process(folder / "a", fake.port, url, 0) as a,
                bot_process(folder / "b", fake.port, url, 1) as b,
            ):
                await fake.wait_shards((0, 2), (1, 2))
                processes = {a.pid: a, b.pid: b}
                victim = await leader_pid(url)
                fake.victim, fake.kill_at = victim, KILL_AT
                fake.gate.set()
                await asyncio.wait_for(processes[victim].wait(), 60)
                await leader_pid(url, other_than=victim)
                took_over = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(fake.all_posted.wait(), 60)
                survivor = next(p for pid, p in processes.items() if pid != victim)
                survivor.send_signal(signal.SIGTERM)
                await asyncio.wait_for(survivor.wait(), 30)
            assert fake.killed_at is not None
            posts = fake.daily_posts()
            resumed = fake.resumed_after()
            return (
                took_over - fake.killed_at,
                float("nan") if resumed is None else resumed,
                PLACES - len(posts),
                sum(n - 1 for n in posts.values()),
            )


async def main(url: str, runs: int) -> None:
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; {runs} runs, "
          f"{PLACES} places each, the leader killed at {KILL_AT} posts")  # fmt: skip
    results = []
    for n in range(1, runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            lock, resumed, missing, duplicated = await one_run(url, Path(tmp))
        results.append((lock, resumed, missing, duplicated))
        print(f"run {n}: lock taken over {lock:.1f} s after the kill, posting resumed "
              f"{resumed:.1f} s after it; missing {missing}, duplicated {duplicated}")  # fmt: skip
    worst = max(r[1] for r in results)
    print(
        f"takeover over {runs} kill -9 runs: lock max {max(r[0] for r in results):.1f} s, "
        f"posting resumed max {worst:.1f} s (target <= {TARGET:.0f} s: "
        f"{'met' if worst <= TARGET else 'NOT met'}); missing {sum(r[2] for r in results)}, "
        f"duplicated {sum(r[3] for r in results)} (target 0 and 0)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=SERVER, help=f"default: ${ENV_URL}")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.url:
        raise SystemExit('no server: run `eval "$(.ci/postgres start)"` first, or pass --url')
    asyncio.run(main(args.url, args.runs))
