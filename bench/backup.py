"""Backups of a 1M-answer database: the time and size of `stackprep db backup` (online backup
API, then integrity_check on the copy), what a backup costs answers arriving meanwhile, the
quick_check every start runs, `stackprep db check --full`, and a restore. Run by hand:

    uv run python bench/backup.py              # 1,000,000 answers (filling takes ~2 minutes)
    uv run python bench/backup.py 100000       # another size

Each figure is printed next to its target. Nothing here is part of the test suite.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from foundation import _bulk_answers, _open_rounds, _service, line, pct  # noqa: E402

from bot.app.run import tune_interpreter  # noqa: E402
from bot.core.common.identity import Platform, UserRef  # noqa: E402
from bot.core.quiz.tokens import answer_token  # noqa: E402
from bot.storage.sqlite import Database  # noqa: E402
from bot.storage.sqlite.backup import backup, check, restore  # noqa: E402

PLAYERS = 10_000


def _drop_page_cache() -> bool:
    """Empty the OS page cache (root only), so a read is measured from the disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


async def _timed_open(path: Path) -> float:
    db = Database(path)
    started = time.perf_counter()
    await db.open()  # identify, quick_check, migrate: what every start does
    elapsed = time.perf_counter() - started
    await db.close()
    return elapsed


async def _backup_under_load(
    path: Path, copy: Path, rate: int = 200
) -> tuple[float, float, float, int]:
    """A backup while answers arrive at `rate`/s: (backup seconds, p99 answer latency in ms
    in the 3 s before it, p99 during it, answers acknowledged during it)."""
    service, store, owner = await _service(path)
    users = [UserRef(Platform.DISCORD, str(10**7 + i)) for i in range(2_000)]
    for u in users:
        await store.player(u, "p")
    rounds = await _open_rounds(service, 60)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    done = asyncio.Event()

    async def one(k: int) -> None:
        started = loop.time()
        rnd, user = rounds[k // len(users)], users[k % len(users)]
        await service.answer(user, "p", answer_token(rnd.round.id, "A"))
        latencies.append(loop.time() - started)

    async def load() -> None:
        k, tasks = 0, set()
        start = loop.time()
        while not done.is_set():
            while start + k / rate <= loop.time():
                task = asyncio.create_task(one(k))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                k += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)

    running = asyncio.create_task(load())
    await asyncio.sleep(1.0)
    latencies.clear()
    await asyncio.sleep(3.0)
    before = pct(latencies, 99) * 1000 if latencies else 0.0
    latencies.clear()
    started = time.perf_counter()
    await backup(path, copy)
    took = time.perf_counter() - started
    count = len(latencies)
    p99 = pct(latencies, 99) * 1000 if latencies else 0.0
    done.set()
    await running
    await owner.close()
    return took, before, p99, count


async def main(answers: int) -> None:
    tune_interpreter()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path, copy = Path(tmp) / "live.db", Path(tmp) / "copy.db"
        schema = Database(path)
        await schema.open()
        await schema.close()
        started = time.perf_counter()
        _bulk_answers(path, answers, PLAYERS)
        print(f"   (filled {answers:,} answers in {time.perf_counter() - started:.0f} s)")
        size = path.stat().st_size
        line(f"database size, {answers:,} answers", f"{size / 1e6:,.0f} MB", "(info)", True)

        cold = _drop_page_cache()
        opened = await _timed_open(path)
        warm = await _timed_open(path)
        if cold:
            line("start: open + quick_check, cold cache", f"{opened:.2f} s", "<=5 s", opened <= 5)
        line("start: open + quick_check, file cached", f"{warm:.2f} s", "<=1 s", warm <= 1)

        started = time.perf_counter()
        await backup(path, copy)
        took = time.perf_counter() - started
        copied = f"{took:.1f} s, {copy.stat().st_size / 1e6:,.0f} MB"
        line("db backup (copy + integrity_check)", copied, "<=30 s", took <= 30)

        started = time.perf_counter()
        _, found = await check(path, full=True)
        full = time.perf_counter() - started
        started = time.perf_counter()
        await check(path)
        quick = time.perf_counter() - started
        line("db check (quick_check)", f"{quick:.2f} s", "<=2 s", quick <= 2 and not found)
        line("db check --full (integrity_check)", f"{full:.2f} s", "<=10 s", full <= 10)

        took, before, p99, count = await _backup_under_load(path, Path(tmp) / "loaded.db")
        line("db backup while answers arrive (200/s)", f"{took:.1f} s", "<=30 s", took <= 30)
        line("  answers before it: p99 latency", f"{before:.1f} ms", "(baseline)", True)
        line("  answers during it: p99 latency", f"{p99:.1f} ms ({count} answers)",
             "<=50 ms", p99 <= 50)  # fmt: skip

        started = time.perf_counter()
        kept = await restore(copy, path, now=datetime.now(UTC))
        took = time.perf_counter() - started
        line("db restore (copy + integrity_check + swap)", f"{took:.1f} s", "<=30 s", took <= 30)
        assert kept is not None


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
