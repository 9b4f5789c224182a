"""`/quiz` in the console: the group game played alone, through the console's own run loop
(lines piped into it), its GameEngine and the real services, over memory and SQLite. The
engine waits on FakeTimers, so nothing here sleeps for real but the subprocess test."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from bot.adapters.console import texts
from bot.adapters.console.adapter import ConsoleAdapter
from bot.app.bootstrap import App
from bot.core.bank.question_bank import load_bank
from bot.core.common.texts import APOLOGY
from bot.core.games import texts as games_texts
from bot.core.quiz import Asked
from tests.core.properties import ANY_TEXT, THROUGH_SERVICES
from tests.fakes.app import make_app
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished
from tests.fakes.paths import TEST_BANK

WAIT = 5.0  # real seconds to wait for the console to print what a line or a timer caused


class Piped:
    """A console adapter running its own loop over a pipe, with its screen in memory."""

    def __init__(
        self, app: App, timers: FakeTimers, *, tty: bool = False, user: str = "ada"
    ) -> None:
        """`tty`: the input is a terminal (a pseudo-terminal) instead of a pipe."""
        read_fd, self.write_fd = os.pipe() if not tty else reversed(os.openpty())
        self.stdin: IO[str] = open(read_fd, encoding="utf-8")  # noqa: SIM115
        self.screen = io.StringIO()
        self.console = ConsoleAdapter(
            app.quiz, stdin=self.stdin, user_id=user, games=app.games, sleep=timers.sleep,
            console=Console(file=self.screen, width=200, color_system=None),
        )  # fmt: skip
        self.task: asyncio.Task[int] | None = None
        self.seen = 0  # how much of the screen the test has looked at

    async def start(self) -> None:
        self.task = asyncio.create_task(self.console.run())
        await self.shows("Hi! I ask interview questions")

    async def send(self, line: str, expect: str) -> str:
        os.write(self.write_fd, f"{line}\n".encode())
        return await self.shows(expect)

    async def shows(self, expect: str) -> str:
        """What was printed since the last look, once it holds `expect`."""
        deadline = asyncio.get_running_loop().time() + WAIT
        while expect not in self.screen.getvalue()[self.seen :]:
            assert self.task is None or not self.task.done(), self.screen.getvalue()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{expect!r} not shown in:\n{self.screen.getvalue()}")
            await asyncio.sleep(0.005)
        new = self.screen.getvalue()[self.seen :]
        self.seen = len(self.screen.getvalue())
        return new

    def since(self) -> str:
        new = self.screen.getvalue()[self.seen :]
        self.seen = len(self.screen.getvalue())
        return new

    async def end(self) -> str:
        """End of input: the console says bye and stops its engine."""
        os.close(self.write_fd)
        assert self.task is not None
        assert await asyncio.wait_for(self.task, WAIT) == 0
        await asyncio.sleep(0.02)  # the input's transport sees the end and closes
        self.stdin.close()
        return self.since()

    @property
    def question(self) -> Asked:
        assert self.console.games is not None
        asked = self.console.games.outbox.question
        assert asked is not None
        return asked


def right(asked: Asked) -> str:
    return asked.round.correct_label(asked.question)


def wrong(asked: Asked) -> str:
    return next(b.label for b in asked.reply.choices if b.label != right(asked))


def full_points(asked: Asked) -> int:
    """A right answer in the first fifth of the time: the base by level and half again."""
    base = (10, 20, 30)[asked.question.difficulty - 1]
    return base + round(base * 0.5)


@pytest.fixture
def timers(clock: FixedClock) -> FakeTimers:
    return FakeTimers(clock)


@pytest.fixture
async def piped(app: App, timers: FakeTimers) -> AsyncIterator[Piped]:
    console = Piped(app, timers)
    yield console
    if console.task is not None and not console.task.done():
        console.task.cancel()
        await asyncio.gather(console.task, return_exceptions=True)
    if console.console.games is not None:
        await console.console.games.stop()
    if not console.stdin.closed:  # the test failed before the end of its input
        os.close(console.write_fd)
        await asyncio.sleep(0.02)
        console.stdin.close()


async def test_a_solo_game_right_wrong_and_late_with_the_timer_and_final_standings(
    piped: Piped, timers: FakeTimers
) -> None:
    await piped.start()
    started = await piped.send("/quiz 3 15s", "started a game")
    assert "ada started a game" in started and "3 mixed questions, 15 s each" in started
    await timers.settle(1)
    await timers.advance(3)  # the start delay: question 1
    q1 = piped.question
    shown = await piped.shows("Question 1/3")
    header, countdown, *_ = shown.splitlines()
    assert header.startswith("Question 1/3 · ")
    assert q1.round.closes_at is not None
    # the deadline right under the header, and only there
    assert countdown == f"⏱ Closes in 15 s (at {q1.round.closes_at:%H:%M:%S} UTC)"
    assert shown.count("⏱") == 1 and "Answer with A, B" in shown
    await timers.advance(2)
    result = await piped.send(right(q1), "Right!")  # answered as for /question: privately
    assert f"+{full_points(q1)} points" in result
    await timers.advance(13)  # to the deadline: the close, shown by its reveal
    shown = await piped.shows("Next question in 5 s.")
    assert f"⏱ Time! Question 1/3: the answer is {right(q1)})" in shown
    assert "The question was:" not in shown and q1.question.prompt not in shown  # not again
    assert f"1. ada — {full_points(q1)} pts (1 right)" in shown
    assert "s left" not in shown  # answered at once: no ticks

    await timers.advance(5)
    q2 = piped.question
    assert q2.round.id != q1.round.id
    await piped.shows("Question 2/3")
    await piped.send(wrong(q2), f"Not quite: you chose {wrong(q2)}")
    await timers.advance(15)
    await piped.shows("⏱ Time! Question 2/3")

    await timers.advance(5)
    q3 = piped.question
    await piped.shows("Question 3/3")
    await timers.advance(5)  # unanswered: 10 s left
    assert await piped.shows("⏱ 10 s left") == "⏱ 10 s left\n"
    await timers.advance(5)
    assert await piped.shows("⏱ 5 s left") == "⏱ 5 s left\n"
    await timers.advance(5)
    shown = await piped.shows("⏱ Time! Question 3/3")
    assert "Nobody answered this one." in shown
    late = await piped.send(right(q3), "closed")  # after the deadline, the usual path
    assert "This round is closed." in late and "Right!" not in late

    await timers.advance(5, sleepers=0)  # the pause after the last reveal, then the end
    final = await piped.shows("A game of one")
    assert final.rstrip("\n").split("\n") == [
        "🏁 Game over: 3 questions",
        f"🏆 Winner: ada with {full_points(q1)} points!",
        f"1. ada — {full_points(q1)} pts, 1 of 3 right ✅❌·",  # right, wrong, not answered
        "A game of one: its points count under the usual limits.",
    ]
    bye = await piped.end()
    assert texts.GAME_LEFT_RUNNING not in bye and "Bye!" in bye
    assert piped.screen.getvalue().count(" s left") == 2  # only question 3's two ticks
    assert piped.console.games is not None and not piped.console.games.playing


async def test_stop_midway_and_status(app: App, piped: Piped, timers: FakeTimers) -> None:
    await piped.start()
    await piped.send("/quiz status", "No game is running here")
    await piped.send("/quiz 3 alpha 20s", "started a game")
    await timers.settle(1)
    await timers.advance(3)
    await piped.shows("Question 1/3")
    asked = piped.question
    await timers.advance(4)
    status = await piped.send("/quiz status", "Game in progress")
    assert "question 1 of 3, 16 s left" in status
    stopped = await piped.send("/quiz stop", "Nobody answered.")
    assert "🛑 Game stopped by ada after 1 of 3 questions" in stopped
    assert piped.console.games is not None
    await finished(piped.console.games.engine)  # the game's task closes its question
    # the post's one close, shown by its reveal (the question is not printed again)
    closed = stopped + piped.since()
    assert closed.count("⏱ Time! Question 1/3") == 1
    assert f"⏱ Time! Question 1/3: the answer is {right(asked)}) " in closed
    assert "Nobody answered this one." in closed
    assert "Next question" not in closed  # the game is over
    assert "The question was:" not in closed and asked.question.prompt not in closed
    late = await piped.send(right(asked), "closed")  # the question closed with the game
    assert "This round is closed." in late
    await piped.send("/quiz status", "No game is running here")
    assert await app.games.store.running_in("console:console") is None
    await timers.advance(60)
    assert "Question 2/3" not in piped.since()  # nothing more is played
    assert texts.GAME_LEFT_RUNNING not in await piped.end()


async def test_out_of_range_settings_are_refused_and_nothing_starts(app: App, piped: Piped) -> None:
    await piped.start()
    refused = await piped.send("/quiz 99", "A game has 3 to 20 questions; you asked for 99.")
    assert "Traceback" not in refused and APOLOGY not in refused
    await piped.send("/quiz 3 5s", "Each question runs 10 to 120 seconds; you asked for 5.")
    await piped.send("/quiz 3 nosuchtopic", "I don't know the topic 'nosuchtopic'")
    await piped.send("/quiz stop", "No game is running here")
    assert await app.games.store.running_in("console:console") is None
    await piped.end()


async def test_quit_leaves_the_game_running_and_the_next_console_resumes_it(
    app: App, timers: FakeTimers
) -> None:
    first = Piped(app, timers)
    await first.start()
    await first.send("/quiz 3 10s", "started a game")
    await timers.settle(1)
    await timers.advance(3)
    await first.shows("Question 1/3")
    await first.send("/quit", "Bye!")
    assert texts.GAME_LEFT_RUNNING in first.screen.getvalue()
    await first.end()
    assert timers.sleeping == 0  # the engine stopped with the console
    assert timers.sleeping == 0  # the engine stopped with the console

    await timers.advance(30)  # question 1's time ran out meanwhile
    second = Piped(app, timers, user="bob")  # another login at the same console
    await second.start()
    try:
        await timers.settle(1)  # question 1 is revealed on resuming; the pause
        assert "⏱ Time! Question 1/3" in second.screen.getvalue()
        await timers.advance(5)
        shown = await second.shows("Question 2/3")
        assert "⏱ Closes in 10 s" in shown
        await second.send("/quiz stop", "Game stopped by bob after 2 of 3")
    finally:
        await second.end()


async def test_on_a_terminal_the_prompt_shows_the_seconds_left_instead_of_ticks(
    app: App, timers: FakeTimers
) -> None:
    console = Piped(app, timers, tty=True)
    await console.start()
    try:
        assert console.console.games is not None
        await console.send("/quiz 3 30s", "started a game")
        await timers.settle(1)
        await timers.advance(3)
        shown = await console.shows("Question 1/3")
        assert shown.endswith("⏱ 30 s > ")  # the prompt again, after the post
        await timers.advance(25)
        assert " s left" not in console.since()  # no ticks into a line being typed
        await console.send("/quiz status", "question 1 of 3, 5 s left")
        await timers.settle()
        assert console.screen.getvalue().endswith("⏱ 5 s > ")
    finally:
        await console.end()


async def test_without_games_quiz_says_so(app: App) -> None:
    screen = io.StringIO()
    console = ConsoleAdapter(
        app.quiz, user_id="ada", console=Console(file=screen, width=200, color_system=None)
    )
    await console.handle("/quiz 3")
    assert games_texts.UNAVAILABLE in screen.getvalue()
    await console.handle("/help")
    assert "/quiz [count] [topic]" in screen.getvalue()  # /help lists it


# -- any arguments --------------------------------------------------------------------------

WORDS = st.sampled_from(["3", "20", "99", "10s", "5s", "alpha", "beta", "junior", "hints",
                         "stop", "status", "count:4", "seconds:abc", "topic:", "x"])  # fmt: skip


BANK = load_bank(TEST_BANK)


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop:
        yield loop


@THROUGH_SERVICES
@given(args=st.lists(st.one_of(WORDS, ANY_TEXT.map(lambda t: t.replace("\n", " "))), max_size=5))
def test_any_quiz_arguments_start_a_game_or_are_refused_clearly(
    runner: asyncio.Runner, args: list[str]
) -> None:
    async def play() -> str:
        clock = FixedClock()
        app = make_app(Path("unused"), storage="memory", bank=BANK, clock=clock)
        timers = FakeTimers(clock)
        screen = io.StringIO()
        console = ConsoleAdapter(
            app.quiz, user_id="ada", games=app.games, sleep=timers.sleep,
            console=Console(file=screen, width=200, color_system=None),
        )  # fmt: skip
        try:
            await console.handle(" ".join(["/quiz", *args]))
            running = await app.games.store.running_in("console:console")
            await console.handle("/quiz stop")
            if running is not None:
                assert "Game stopped by ada" in screen.getvalue()
        finally:
            assert console.games is not None
            await console.games.stop()
        return screen.getvalue()

    errors = Errors()
    logging.getLogger("bot").addHandler(errors)
    try:
        out = runner.run(play())
    finally:
        logging.getLogger("bot").removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]
    assert APOLOGY not in out and "Traceback" not in out
    assert "\x1b" not in out


# -- as a user runs it ------------------------------------------------------------------------


def test_a_game_in_the_console_subprocess(tmp_path: Path) -> None:
    """`stackprep console` with lines piped in: a game starts, its first question comes with
    its countdown after the start delay (3 s, real time), status, stop, quit."""
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "q.db"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env["COLUMNS"] = "200"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "console"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        proc.stdin.write("/quiz 3 10s\n")
        proc.stdin.flush()
        seen: list[str] = []
        while not any(line.startswith("Answer with") for line in seen[-1:]):
            line = proc.stdout.readline()
            assert line, "".join(seen)
            seen.append(line)
        answer = next(label for label in "ABCD" if f"{label}) " in "".join(seen))
        out, err = proc.communicate(f"/quiz status\n{answer}\n/quiz stop\n/quit\n", timeout=30)
    finally:
        watchdog.cancel()
    shown = "".join(seen) + out
    assert proc.returncode == 0, err
    assert "started a game" in shown and "Question 1/3" in shown
    assert re.search(r"⏱ Closes in (10|9) s", shown)
    assert re.search(r"Game in progress: question 1 of 3, \d+ s left", shown)
    assert "Right!" in shown or "Not quite" in shown
    assert "🛑 Game stopped by" in shown and "after 1 of 3 questions" in shown
    assert "Traceback" not in err
