"""Foundation benchmarks: answers/s and latency, leaderboard at 1M answers, ask latency,
idle memory and start-up time of the console bot. Run by hand:

    uv run python bench/foundation.py            # everything (a few minutes)
    uv run python bench/foundation.py answers    # one part: answers | leaderboard | ask | idle

Each figure is printed next to its target. Nothing here is part of the test suite.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.bootstrap import App, build  # noqa: E402
from bot.app.run import freeze_startup_heap, tune_interpreter  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.bank.question_bank import load_bank  # noqa: E402
from bot.core.common.identity import ChatRef, Platform, UserRef  # noqa: E402
from bot.core.quiz.ports import Store  # noqa: E402
from bot.core.quiz.rounds import RoundKind  # noqa: E402
from bot.core.quiz.service import Asked, QuizService  # noqa: E402
from bot.core.quiz.tokens import answer_token  # noqa: E402
from bot.storage.sqlite import Database, SqliteQuizStore  # noqa: E402

BANK = load_bank(ROOT / "questions")
GUILD = ChatRef(Platform.DISCORD, "100", "1")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def line(name: str, measured: str, target: str, ok: bool) -> None:
    print(f"{name:<44} {measured:<28} target {target:<18} {'OK' if ok else 'MISSED'}")


async def _service(path: Path, deployed: bool = True) -> tuple[QuizService, Store, App | Database]:
    """QuizService as bot.app.bootstrap builds it, with practice's card listener attached, or
    (deployed=False) QuizService over the SQLite quiz store alone, as the foundation issue
    names it; and what to close (the App first writes practice's queued card updates)."""
    db = Database(path)
    if deployed:
        app = build(load_config(None, {}), bank=BANK, database=db, ask_rate=(10**9, 1.0))
        await app.open()
        service, store, owner = app.quiz, app.store, app
    else:
        await db.open()
        store = SqliteQuizStore(db)
        service, owner = QuizService(BANK, store, ask_rate=(10**9, 1.0)), db
    freeze_startup_heap()  # as bot.app.run does before it serves
    return service, store, owner


async def _open_rounds(service: QuizService, n: int) -> list[Asked]:
    now = datetime.now(UTC)
    questions = BANK.questions
    return [
        await service.open_round(
            questions[i % len(questions)], GUILD, RoundKind.DAILY, now, now + timedelta(hours=12)
        )
        for i in range(n)
    ]


async def answers_at(
    rate: int, seconds: float, players: int = 10_000, *, deployed: bool = True
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service, store, owner = await _service(Path(tmp) / "bench.db", deployed)
        users = [UserRef(Platform.DISCORD, str(10**6 + i)) for i in range(players)]
        for u in users:
            await store.player(u, f"player{u.user_id}")
        total = int(rate * seconds)
        rounds = await _open_rounds(service, max(50, total // players + 50))
        pairs = random.Random(7).sample(range(len(rounds) * players), total)
        latencies: list[float] = []
        loop = asyncio.get_running_loop()

        async def one(k: int, due: float) -> None:
            rnd = rounds[pairs[k] // players]
            user = users[pairs[k] % players]
            await service.answer(user, f"player{user.user_id}", answer_token(rnd.round.id, "A"))
            latencies.append(loop.time() - due)

        start = loop.time()
        running: set[asyncio.Task[None]] = set()  # only the unfinished ones, as a bot holds
        k = 0
        while k < total:  # open loop: every millisecond, launch all answers due by now
            now = loop.time()
            while k < total and start + k / rate <= now:
                task = asyncio.create_task(one(k, start + k / rate))
                running.add(task)
                task.add_done_callback(running.discard)
                k += 1
            await asyncio.sleep(0.001)
        while running:
            await asyncio.gather(*running)
        elapsed = loop.time() - start
        await owner.close()
        achieved = total / elapsed
        p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
        limit = 5 if rate <= 1000 else 10
        line(
            f"answers at {rate}/s, {'as deployed' if deployed else 'QuizService+store'}",
            f"{achieved:,.0f}/s p50 {p50:.2f} ms p99 {p99:.2f} ms",
            f">={rate}/s p99<={limit} ms",
            achieved >= rate * 0.98 and p99 <= limit,
        )


async def answers_max(total: int = 20_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service, store, owner = await _service(Path(tmp) / "bench.db")
        users = [UserRef(Platform.DISCORD, str(i)) for i in range(10_000)]
        for u in users:
            await store.player(u, "p")
        rounds = await _open_rounds(service, total // len(users) + 1)
        start = time.perf_counter()
        await asyncio.gather(
            *(
                service.answer(
                    users[k % len(users)], "p", answer_token(rounds[k // len(users)].round.id, "B")
                )
                for k in range(total)
            )
        )
        rate = total / (time.perf_counter() - start)
        await owner.close()
        line("answers, closed loop (all at once)", f"{rate:,.0f}/s", "(ceiling)", True)


def _bulk_answers(path: Path, n: int, players: int) -> None:
    """Insert n answers straight into the schema (the trigger maintains the boards)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO players (id, name, created_at) VALUES (?, ?, 0)",
        ((i, f"player{i}") for i in range(1, players + 1)),
    )
    conn.executemany(
        "INSERT INTO identities VALUES ('discord', ?, ?)",
        ((str(i), i) for i in range(1, players + 1)),
    )
    rounds = n // players + 1
    conn.executemany(
        "INSERT INTO rounds VALUES "
        "(?, 'q', 'discord', '100', '1', 'daily', '0,1,2', 0, NULL, NULL, NULL)",
        ((f"r{i:010d}",) for i in range(rounds)),
    )
    rng = random.Random(3)

    def rows():  # type: ignore[no-untyped-def]
        for k in range(n):
            points = rng.choice((0, 10, 20, 30, 35))
            yield (f"r{k // players:010d}", k % players + 1, "q", "t", "daily", "A",
                   int(points > 0), points, 0.0, 1.0, "global", "discord:1",
                   "2026-W49" if k % 3 else "2026-W48", "2026-12-01", None, None)  # fmt: skip

    conn.executemany("INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    conn.execute("COMMIT")
    conn.close()


async def leaderboard(n: int = 1_000_000, players: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        schema = Database(path)
        await schema.open()
        await schema.close()
        t = time.perf_counter()
        _bulk_answers(path, n, players)
        fill = time.perf_counter() - t
        service, _, owner = await _service(path)
        service.clock = type(
            "C", (), {"now": staticmethod(lambda: datetime(2026, 12, 2, tzinfo=UTC))}
        )()
        users = [UserRef(Platform.DISCORD, str(i)) for i in range(1, players + 1)]
        latencies = []
        for k in range(2000):
            user = users[k % players]
            t = time.perf_counter()
            await service.leaderboard(user, "x", GUILD, "all" if k % 2 else "week")
            latencies.append(time.perf_counter() - t)
        await owner.close()
        p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
        line(
            f"leaderboard top-10 + own rank, {n:,} answers",
            f"p50 {p50:.2f} ms p99 {p99:.2f} ms",
            "p99<=2 ms",
            p99 <= 2,
        )
        print(f"   (filled {n:,} answers through the trigger in {fill:.0f} s)")


async def ask() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service, store, owner = await _service(Path(tmp) / "bench.db")
        users = [UserRef(Platform.DISCORD, str(i)) for i in range(1000)]
        for u in users:
            await store.player(u, "p")
        latencies = []
        for k in range(5000):
            t = time.perf_counter()
            await service.ask(users[k % 1000], "p", GUILD, None, None)
            latencies.append(time.perf_counter() - t)
        await owner.close()
        p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
        line("ask (select, round insert, reply)", f"p50 {p50:.2f} ms p99 {p99:.2f} ms",
             "p50<=0.5 p99<=2 ms", p50 <= 0.5 and p99 <= 2)  # fmt: skip


def idle_and_ready() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
        env["STACKPREP_DATABASE"] = str(Path(tmp) / "idle.db")
        readies = []
        rss_kb = 0
        for attempt in range(5):
            t = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "console"], cwd=ROOT, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            assert proc.stdout is not None and proc.stdin is not None
            proc.stdout.readline()  # the welcome: the quiz is ready for input
            readies.append(time.perf_counter() - t)
            if attempt == 0:
                proc.stdin.write("/question\n/topics\n")
                proc.stdin.flush()
                time.sleep(3)
                status = Path(f"/proc/{proc.pid}/status").read_text()
                rss_kb = int(
                    next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1]
                )
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()
        line(
            "idle RSS of the console bot", f"{rss_kb / 1024:.1f} MB", "<=80 MB", rss_kb <= 80 * 1024
        )
        ready = statistics.median(readies)
        line("start to ready (median of 5)", f"{ready:.2f} s", "<=1 s", ready <= 1)


async def main(parts: list[str]) -> None:
    tune_interpreter()  # as bot.runtime.run does
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    if not parts or "answers" in parts:
        for deployed in (False, True):
            await answers_at(1000, 10, deployed=deployed)
            await answers_at(4000, 10, deployed=deployed)
        await answers_max()
    if not parts or "leaderboard" in parts:
        await leaderboard()
    if not parts or "ask" in parts:
        await ask()
    if not parts or "idle" in parts:
        idle_and_ready()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
