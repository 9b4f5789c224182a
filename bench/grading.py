"""Practice benchmarks: grading latency per answer, and one practice step end to end through
PracticeService on a real SQLite file. Run by hand:

    uv run python bench/grading.py            # both parts
    uv run python bench/grading.py grading    # one part: grading | steps

Each figure is printed next to its target. Nothing here is part of the test suite.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.bootstrap import build  # noqa: E402
from bot.config import Config, DatabaseConfig  # noqa: E402
from bot.core.bank.question_bank import load_bank  # noqa: E402
from bot.core.common.identity import ChatRef, Platform, UserRef  # noqa: E402
from bot.core.practice.grading import grade  # noqa: E402
from bot.core.practice.ports import Awaiting  # noqa: E402
from bot.core.practice.service import PracticeService, Step  # noqa: E402

BANK = load_bank(ROOT / "questions")
GOLDEN = tomllib.loads((ROOT / "tests/data/golden_answers.toml").read_text(encoding="utf-8"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def line(name: str, measured: str, target: str, ok: bool) -> None:
    print(f"{name:<44} {measured:<28} target {target:<18} {'OK' if ok else 'MISSED'}")


def bench_grading(rounds: int = 30) -> None:
    """Every golden answer, plus long answers (the 4,000-character cap) on every question."""
    cases = []
    for answer in GOLDEN["answers"]:
        question = BANK.get(answer["question"])
        assert question is not None
        cases.append((question, answer["text"]))
    rng = random.Random(1)
    for question in rng.sample(list(BANK.questions), 60):
        long_answer = (question.model_answer.replace(".", ";") + " In my own words: ") * 12
        cases.append((question, long_answer[:4000]))
    times: list[float] = []
    for _ in range(rounds):
        for question, text in cases:
            start = time.perf_counter()
            grade(question, text)
            times.append(time.perf_counter() - start)
    p50, p99 = pct(times, 50) * 1000, pct(times, 99) * 1000
    line(
        f"grading ({len(times)} answers)",
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms",
        "p99 <= 2 ms",
        p99 <= 2.0,
    )


async def _step(practice: PracticeService, user: UserRef, step: Step) -> tuple[str, Step]:
    """Answer whatever `step` waits for; returns (kind, next step)."""
    if step.awaiting is Awaiting.CHOICE:
        token = step.replies[-1].choices[0].token
        return "choice", await practice.press(user, "bench", token)
    if step.awaiting is Awaiting.TEXT:
        text = "It runs the coroutine on the loop and the other tasks are cancelled by the group."
        return "text", await practice.answer_text(user, "bench", text)
    if step.awaiting is Awaiting.RATING:
        return "rate", await practice.rate(user, "bench", 3)
    return "start", await practice.start(user, "bench", ChatRef(Platform.DISCORD, user.user_id))


async def bench_steps(learners: int = 40, steps_each: int = 60) -> None:
    """Sequential practice steps of many learners through the real services and SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(database=DatabaseConfig(Path(tmp) / "bench.db"))
        app = build(
            config, bank=BANK, ask_rate=(10**9, 1.0), rng=random.Random(2),
            practice_rng=random.Random(3),
        )  # fmt: skip
        await app.open()
        try:
            practice = app.practice
            users = [UserRef(Platform.DISCORD, str(10_000 + n)) for n in range(learners)]
            steps = {u: Step(()) for u in users}
            by_kind: dict[str, list[float]] = {}
            for _ in range(steps_each):
                for user in users:
                    start = time.perf_counter()
                    kind, steps[user] = await _step(practice, user, steps[user])
                    by_kind.setdefault(kind, []).append(time.perf_counter() - start)
        finally:
            await app.close()
    every = [t for times in by_kind.values() for t in times]
    p50, p99 = pct(every, 50) * 1000, pct(every, 99) * 1000
    line(
        f"practice step, all ({len(every)} steps)",
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
        "p99 <= 5 ms",
        p99 <= 5.0,
    )
    for kind in ("start", "choice", "text", "rate"):
        times = by_kind.get(kind, [])
        if times:
            line(
                f"  {kind} ({len(times)})",
                f"p50 {pct(times, 50) * 1000:.2f} ms, p99 {pct(times, 99) * 1000:.2f} ms",
                "p99 <= 5 ms",
                pct(times, 99) * 1000 <= 5.0,
            )


def main() -> None:
    part = sys.argv[1] if len(sys.argv) > 1 else "all"
    if part in {"all", "grading"}:
        bench_grading()
    if part in {"all", "steps"}:
        asyncio.run(bench_steps())


if __name__ == "__main__":
    main()
