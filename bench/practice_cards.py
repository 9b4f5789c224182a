"""Practice's card updates under load: memory, throughput, backlog and stopping. Run by hand:

    uv run python bench/practice_cards.py            # 200,000 answers (a few minutes)
    uv run python bench/practice_cards.py 50000      # fewer

200,000 multiple-choice answers in a closed loop (2,000 in flight, 10,000 players, the shipped
bank) through QuizService over the SQLite quiz store alone, then through the app as deployed
(practice's card writer attached: every answer also updates an FSRS card). Printed: answers/s
of both, RSS when ready and after the 200,000 answers, the most card updates pending in the
database while answering (a backlog waits there, not in memory), how long the app took to
stop without applying the backlog (`PracticeService.close`), and how fast the backlog was
then applied after a restart. Each figure beside its target; never part of the test run.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from foundation import BACKLOG_SQL, BANK, GUILD, rss_mb  # noqa: E402  (bench/, this script's folder)

from bot.app.bootstrap import build  # noqa: E402
from bot.app.run import freeze_startup_heap, tune_interpreter  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.common.identity import Platform, UserRef  # noqa: E402
from bot.core.quiz.rounds import RoundKind  # noqa: E402
from bot.core.quiz.service import QuizService  # noqa: E402
from bot.storage.sqlite import Database, SqliteQuizStore  # noqa: E402

PLAYERS = 10_000
IN_FLIGHT = 2_000


def line(name: str, measured: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else "OK" if ok else "MISSED"
    print(f"{name:<46} {measured:<30} target {target:<20} {verdict}")


async def answer_all(service: QuizService, users: list[UserRef], total: int) -> float:
    """`total` answers, IN_FLIGHT at a time; returns answers/s."""
    now = datetime.now(UTC)
    questions = BANK.questions
    rounds = [
        (
            await service.open_round(
                questions[i % len(questions)], GUILD, RoundKind.DAILY, now,
                now + timedelta(hours=12),
            )
        ).round.id
        for i in range(total // len(users) + 1)
    ]  # fmt: skip
    labels = random.Random(7).choices("AB", k=total)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(k: int) -> None:
        async with gate:
            user = users[k % len(users)]
            await service.answer_choice(user, "p", rounds[k // len(users)], labels[k])

    start = time.perf_counter()
    for wave in range(0, total, 20_000):  # tasks created a wave at a time, as a bot holds them
        await asyncio.gather(*(one(k) for k in range(wave, min(total, wave + 20_000))))
    return total / (time.perf_counter() - start)


async def alone(path: Path, total: int) -> float:
    db = Database(path)
    await db.open()
    store = SqliteQuizStore(db)
    service = QuizService(BANK, store, ask_rate=(10**9, 1.0))
    users = [UserRef(Platform.DISCORD, str(10**6 + i)) for i in range(PLAYERS)]
    for u in users:
        await store.player(u, "p")
    freeze_startup_heap()
    rate = await answer_all(service, users, total)
    await db.close()
    return rate


async def deployed(path: Path, total: int) -> tuple[float, float]:
    config = load_config(None, {})
    app = build(config, bank=BANK, database=Database(path), ask_rate=(10**9, 1.0))
    await app.open()
    assert app.database is not None
    db: Database = app.database
    users = [UserRef(Platform.DISCORD, str(10**6 + i)) for i in range(PLAYERS)]
    for u in users:
        await app.store.player(u, "p")
    freeze_startup_heap()
    ready = rss_mb()
    backlog = [0]
    queued = getattr(app.practice, "_pending", None)  # before schema 9: a list in memory

    async def pending() -> int:
        return len(queued) if queued is not None else (await db.read(BACKLOG_SQL))[0][0]

    async def watch() -> None:
        while True:
            await asyncio.sleep(0.5)
            backlog.append(await pending())

    watcher = asyncio.create_task(watch())
    rate = await answer_all(app.quiz, users, total)
    after = rss_mb()
    watcher.cancel()
    left = await pending()
    t = time.perf_counter()
    if queued is None:
        await app.practice.close()  # the backlog stays in the database for the next start
        await db.close()
    else:
        await app.close()  # before schema 9: the in-memory queue had to be written first
    stop = time.perf_counter() - t

    line("answers/s, as deployed (card writer on)", f"{rate:,.0f}/s", "(see ratio)", None)
    line(f"RSS when ready / after {total:,} answers", f"{ready:.1f} / {after:.1f} MB",
         "flat: +10 MB at most", after - ready <= 10)  # fmt: skip
    where = "in memory" if queued is not None else "in the database"
    line(f"card updates pending {where}, max", f"{max(backlog):,}", "(any, on disk)", None)
    line("stop with the backlog pending", f"{stop:.2f} s ({left:,} pending)", "<=1 s", stop <= 1)

    app = build(config, bank=BANK, database=Database(path), ask_rate=(10**9, 1.0))
    await app.open()
    t = time.perf_counter()
    await app.practice.flush()  # the next start applies what was left
    drain = time.perf_counter() - t
    assert app.database is not None
    counted = await app.database.read("SELECT coalesce(sum(reviews), 0) FROM practice_cards")
    reviews = counted[0][0]
    await app.close()
    if left:
        line("backlog applied after the restart", f"{left / drain:,.0f} cards/s", "(rate)", None)
    line("card updates applied (every answer once)", f"{reviews:,} of {total:,}",
         f"= {total:,}", reviews == total)  # fmt: skip
    return rate, after


async def main(total: int) -> None:
    tune_interpreter()
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite "
        f"{sqlite3.sqlite_version}, {datetime.now(UTC):%Y-%m-%d}, {total:,} answers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = await alone(Path(tmp) / "alone.db", total)
        line("answers/s, QuizService and store alone", f"{base:,.0f}/s", "(ceiling)", None)
    with tempfile.TemporaryDirectory() as tmp:
        rate, _ = await deployed(Path(tmp) / "deployed.db", total)
    line("answers/s as deployed / alone", f"{rate / base:.2f}", ">=0.8", rate / base >= 0.8)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
