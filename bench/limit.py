"""The answer path measured against SQLite's own limit (issue 17's yardstick). Run by hand:

    uv run python bench/limit.py [pairs] [answers]

*raw*: one thread, plain sqlite3, no event loop: the quiz store's own SQL (the chunk's context
query and the chunk's INSERT, with every trigger the schema fires) on the same schema and the
same data as the closed loop, in chunks of 512 answers of distinct players, each chunk's JSON
built before the clock starts. It is what SQLite alone can do on this machine.

*project*: the closed loop through the deployed graph (bot.app.bootstrap.build): 20,000
answers offered at once through QuizService.answer by 10,000 known players, with practice's
card listener detached, so both sides do the same work: the answer path. The ratio is taken on
it. *deployed* is the same with the listener attached: every answer also updates an FSRS card
(computed on the event loop, written with its guaranteed share of the writer), work the raw
loop does not do; it is printed beside it, for information.

The two alternate `pairs` times in this process (a neighbour's load drifting over minutes hits
both sides of each pair); each pair's ratio is printed, then the median ratio beside its target.
The SQL comes from bot.storage.sqlite.quiz, so this stays in step with the store.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from foundation import BANK, _answers_per_second, line  # noqa: E402

from bot.app.run import tune_interpreter  # noqa: E402
from bot.core.common.metrics import NO_METRICS  # noqa: E402
from bot.core.quiz.scoring import iso_week  # noqa: E402
from bot.storage.sqlite import Database  # noqa: E402
from bot.storage.sqlite.quiz import CONTEXT_SQL, INSERT_ANSWERS_SQL  # noqa: E402

PLAYERS = 10_000
CHUNK = 512


async def _schema(path: Path) -> None:
    db = Database(path)
    await db.open()
    await db.close()


def _fill(path: Path, rounds: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO players (id, name, created_at) VALUES (?, 'p', 0)",
        ((i,) for i in range(1, PLAYERS + 1)),
    )
    conn.executemany(
        "INSERT INTO identities VALUES ('discord', ?, ?)",
        ((str(i), i) for i in range(1, PLAYERS + 1)),
    )
    conn.executemany(
        "INSERT INTO rounds (id, question_id, platform, chat_id, community_id, kind, "
        "choice_order, opened_at) VALUES (?, ?, 'discord', '100', '1', 'daily', '0,1,2,3', 0)",
        ((f"r{i:06d}", BANK.questions[i % len(BANK.questions)].id) for i in range(rounds)),
    )
    conn.execute("COMMIT")
    conn.close()


def _chunks(total: int) -> list[tuple[str, str]]:
    """Each chunk's (context request, rows) JSON, as the store builds them; every chunk holds
    distinct players (answer k is player k % PLAYERS in round k // PLAYERS)."""
    now = datetime.now(UTC)
    day, week, at = now.date().isoformat(), iso_week(now), now.timestamp()
    out = []
    for start in range(0, total, CHUNK):
        request, rows = [], []
        for k in range(start, min(total, start + CHUNK)):
            player, rnd = k % PLAYERS + 1, k // PLAYERS
            question = BANK.questions[rnd % len(BANK.questions)]
            request.append([player, question.id, day, f"r{rnd:06d}"])
            correct = k % 3 != 0
            rows.append([
                f"r{rnd:06d}", player, question.id, question.topic, "daily", "B", int(correct),
                20 if correct else 0, at, 1.5, "global", "discord:1", week, day, 1, day,
            ])  # fmt: skip
        out.append((json.dumps(request), json.dumps(rows)))
    return out


def raw(total: int = 20_000) -> float:
    """Answers per second of the store's SQL alone, one thread."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raw.db"
        asyncio.run(_schema(path))
        _fill(path, total // PLAYERS + 1)
        work = _chunks(total)
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
            conn.execute(f"PRAGMA {pragma}")
        start = time.perf_counter()
        for request, rows in work:
            conn.execute(CONTEXT_SQL, (request,)).fetchall()
            conn.execute(INSERT_ANSWERS_SQL, (rows,))
        elapsed = time.perf_counter() - start
        conn.close()
    return total / elapsed


def main(pairs: int = 3, total: int = 20_000) -> None:
    tune_interpreter()
    print(f"SQLite {sqlite3.sqlite_version}, {pairs} pairs of {total:,} answers")
    ratios = []
    for pair in range(pairs):
        engine = raw(total)
        project, cpu = asyncio.run(_answers_per_second(NO_METRICS, total, practice=False))
        deployed, _ = asyncio.run(_answers_per_second(NO_METRICS, total))
        ratios.append(project / engine)
        print(f"  pair {pair + 1}: raw {engine:,.0f}/s, project {project:,.0f}/s "
              f"({cpu * 1e6:.0f} us CPU each), ratio {project / engine:.2f}; "
              f"deployed {deployed:,.0f}/s")  # fmt: skip
    ratio = statistics.median(ratios)
    line("closed loop / SQLite's limit", f"{ratio:.2f} (median of {pairs})", ">=0.6", ratio >= 0.6)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
