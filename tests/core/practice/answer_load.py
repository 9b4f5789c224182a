"""A bot process answering multiple-choice questions under load, for the kill -9 test.

Run by tests/core/practice/test_restart.py as `python -m tests.core.practice.answer_load DIR`:
builds the app over the SQLite file in DIR (the test bank, practice's card writer attached),
then answers as fast as it can, 100 answers at a time, printing `<round id> <user id>` for
every answer acknowledged, until it is killed. Its clock moves 1 ms at every reading, so every
answer has its own time and the same player's answers are stored in the order of their times.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.quiz.rounds import RoundKind
from tests.fakes.app import make_app

GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")


class TickClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


async def main(folder: Path) -> None:
    clock = TickClock()
    app = make_app(folder, clock=clock)
    await app.open()
    quiz, rng = app.quiz, random.Random(11)
    users = [UserRef(Platform.TELEGRAM, str(7000 + n)) for n in range(20)]
    for user in users:
        await quiz.store.player(user, "x")
    questions = list(app.bank.questions)

    async def one(round_id: str, user: UserRef, label: str) -> None:
        await quiz.answer_choice(user, "x", round_id, label)
        print(round_id, user.user_id, flush=True)

    while True:
        now = clock.now()
        rounds = [
            (await quiz.open_round(rng.choice(questions), GROUP, RoundKind.ASK, now, None)).round
            for _ in range(5)
        ]
        await asyncio.gather(
            *(one(r.id, u, rng.choice("ABC"[: len(r.order)])) for r in rounds for u in users)
        )


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
