"""The terminal quiz: the default when no platform token is configured.

Works on a terminal and with piped stdin (so tests can drive it as a subprocess); state lives
in the same SQLite store as the platform bots, so scores survive a restart.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import re
import shlex
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, assert_never

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from bot.adapters.base import Services, error_notice, outcome
from bot.adapters.chart import chart_png
from bot.adapters.console import texts as console_texts
from bot.adapters.console.community import ConsoleCommunity
from bot.adapters.console.games import ConsoleGames
from bot.adapters.console.lines import BadLine, open_lines
from bot.core.bank.questions import LABELS
from bot.core.common.errors import AlreadyAnswered, InvalidAnswer, RoundClosed
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.replies import Code, Countdown, Link, Paragraph, Reply
from bot.core.community import CommunityService
from bot.core.games import GameService
from bot.core.games import texts as games_texts
from bot.core.games.engine import Sleep
from bot.core.practice import texts as practice_texts
from bot.core.practice.ports import Awaiting
from bot.core.practice.service import PracticeService, Step
from bot.core.practice.tokens import CHOICE_RE
from bot.core.quiz import Asked, QuizService, report_texts
from bot.core.quiz.reports import ReportService, parse_report_args
from bot.core.quiz.tokens import is_next_token, is_report_token
from bot.log import log_context

log = logging.getLogger(__name__)

CHAT = ChatRef(Platform.CONSOLE, "console", None)
# names the metrics count commands under (anything else typed is counted as "other")
COMMAND_NAMES = {"/q": "question", "/lb": "leaderboard", "n": "next", "help": "help",
                 "/start": "help", "quit": "quit", "exit": "quit", "/exit": "quit"}  # fmt: skip
COMMAND_NAMES.update((f"/{c}", c) for c in (
    "question", "next", "score", "leaderboard", "topics", "help", "quit", "practice", "stop",
    "due", "progress", "export", "remind", "plan", "mock", "report", "quiz", "questions",
    "propose",
))  # fmt: skip


# C0 and C1 control characters (but tab and newline) and the bidi controls: a terminal would
# act on them (an ANSI escape clears the screen or recolours it; an override reorders text).
# FSI and PDI (U+2068/2069) stay: the core puts them around a right-to-left name.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066\u2067]")


def visible(text: str) -> str:
    """`text` with every control character shown as an escape (ESC as \\x1b), so what a
    person typed or named themselves is printed, never acted on by the terminal."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)


def render(console: Console, reply: Reply, *, now: datetime | None = None) -> None:
    """Print a Reply: text is never parsed as markup, and control characters are shown as
    escapes; code is syntax-highlighted; a countdown shows its seconds left from `now`."""
    for block in reply.blocks:
        match block:
            case Paragraph(text=text, bold=bold):
                console.print(Text(visible(text), style="bold" if bold else ""))
            case Code(text=code, language=language):
                console.print(Syntax(visible(code), language, theme="monokai", line_numbers=False))
            case Countdown(label=label, until=until):
                left = max(0, round((until - (now or datetime.now(UTC))).total_seconds()))
                console.print(Text(f"⏱ {label} in {left} s (at {until:%H:%M:%S} UTC)"))
            case Link(label=label, url=url):
                console.print(Text(visible(f"{label}: {url}"), style="underline"))
            case _:
                assert_never(block)
    if reply.choices:
        letters = ", ".join(b.label for b in reply.choices)
        console.print(Text(console_texts.answer_hint(letters), style="dim"))
    if any(is_next_token(b.token) for b in reply.actions):
        console.print(Text(console_texts.NEXT_HINT, style="dim"))
    if any(is_report_token(b.token) for b in reply.actions):
        console.print(Text(console_texts.REPORT_HINT, style="dim"))
    console.print()


class OutputClosed(Exception):
    """Standard output was closed (the reader went away): the console stops quietly."""


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's default raises SystemExit inside the event loop, which skips the clean
        # shutdown (the store's connections stay open and interpreter exit hangs on them)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise OutputClosed()


class ConsoleAdapter:
    def __init__(
        self,
        service: QuizService,
        *,
        stdin: IO[str] | None = None,
        console: Console | None = None,
        user_id: str | None = None,
        practice: PracticeService | None = None,
        files_dir: Path | None = None,
        metrics: Metrics = NO_METRICS,
        reports: ReportService | None = None,
        games: GameService | None = None,
        sleep: Sleep = asyncio.sleep,
        community: CommunityService | None = None,
    ) -> None:
        """`games`: /quiz, played by an engine of its own that waits with `sleep`;
        `community`: /questions and /propose (the console is a community of its own)."""
        self.service = service
        self.reports = reports  # /report: the last round-based question shown
        self.metrics = metrics
        self.practice = practice
        self.files_dir = files_dir or Path.cwd()  # where /progress and /export write files
        self._step: Step | None = None  # the last practice step shown
        self.stdin = stdin or sys.stdin
        self.console = console or _Console(highlight=False)
        name = user_id or _login_name()
        self.user = UserRef(Platform.CONSOLE, name)
        self.name = name
        self._open: Asked | None = None
        self._last_round: str | None = None  # the round of the last question shown (/report)
        self._quiz_last = False  # a /question (not practice) was shown last: A-D and n are its
        self._last_topic: tuple[str | None, str | None] = (None, None)
        self._interactive = _is_tty(self.stdin)
        self._reading = False  # waiting for a line (a game's post prints the prompt again)
        self.games = (
            ConsoleGames(games, self, sleep=sleep, ticks=not self._interactive) if games else None
        )
        self.community = ConsoleCommunity(community, self, CHAT) if community else None

    async def run(self) -> int:
        try:
            render(self.console, self.service.welcome(Platform.CONSOLE))
            if self.games is not None:
                await self.games.start()  # a game left running here goes on
            async for line in self._lines():
                if not await self.handle(line):
                    break
            if self.games is not None and await self.games.stop():  # a step in flight ends
                self._say(console_texts.GAME_LEFT_RUNNING)
            self.console.print(Text(console_texts.BYE, style="dim"))
        except OutputClosed:
            pass  # e.g. `stackprep | head`: stop quietly; the caller closes the store
        finally:
            if self.games is not None:
                await self.games.stop()
        return 0

    async def _lines(self) -> AsyncIterator[str]:
        """Input lines, stripped; a line too long or not UTF-8 is refused with a message."""
        lines = await open_lines(self.stdin)
        while True:
            self._prompt()
            self._reading = True
            try:
                line = await lines.next()
            finally:
                self._reading = False
            if line is None:
                return
            if isinstance(line, BadLine):
                self._say(line.message)
                continue
            yield line.strip()

    async def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        log_context(platform="console", user_id=self.user.user_id)  # on its log lines (bot.log)
        if self.community is not None and self.community.collecting:
            return await self._collect(line)  # the next part of a /propose (may be empty)
        if not line:
            return True
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            return True
        command, args = words[0].casefold(), words[1:]
        failed: Exception | None = None
        try:
            if command in {"/quit", "/exit", "quit", "exit"}:
                return False
            if self.practice is not None and await self._practice(line, command, args):
                return True
            if command in {"/question", "/q"}:
                topic = args[0] if args else None
                difficulty = args[1] if len(args) > 1 else None
                self._last_topic = (topic, difficulty)
                await self._ask(topic, difficulty)
            elif command in {"n", "/next"}:
                await self._ask(*self._last_topic)
            elif command.upper() in LABELS and len(command) == 1:
                await self._answer(command.upper())
            elif command == "/score":
                render(self.console, await self.service.score(self.user, self.name))
            elif command in {"/leaderboard", "/lb"}:
                period = args[0] if args else None
                scope = args[1] if len(args) > 1 else None
                reply = await self.service.leaderboard(self.user, self.name, CHAT, period, scope)
                render(self.console, reply)
            elif command == "/report":
                await self._report(args)
            elif command == "/topics":
                render(self.console, self.service.topics(CHAT))  # the console's own too
            elif command in {"/help", "help", "/start"}:
                render(self.console, self.service.help(Platform.CONSOLE))
            elif command in {"/questions", "/propose"} and self.community is None:
                self._say(console_texts.NO_COMMUNITY)
            elif command == "/questions" and self.community is not None:
                await self.community.questions(args)
            elif command == "/propose" and self.community is not None:
                await self.community.propose(line.strip()[len(words[0]) :])
            elif command == "/quiz":
                if self.games is None:
                    self._say(games_texts.UNAVAILABLE)
                else:
                    reply = await self.games.command(self.user, self.name, CHAT, args)
                    render(self.console, reply, now=self.service.clock.now())
            else:
                self._say(console_texts.unknown_command(words[0]))
        except OutputClosed:
            raise
        except Exception as exc:
            failed = exc
            self._say(error_notice(exc, log=log, what=f"console command {line[:80]!r}"))
        finally:
            name = "answer" if command.upper() in LABELS else COMMAND_NAMES.get(command, "other")
            self.metrics.command(Platform.CONSOLE.value, name, outcome(failed))
        return True

    async def _ask(self, topic: str | None, difficulty: str | None) -> None:
        self._open = await self.service.ask(self.user, self.name, CHAT, topic, difficulty)
        self._last_round = self._open.round.id
        self._quiz_last = True
        render(self.console, self._open.reply)

    async def _answer(self, label: str) -> None:
        if self._open is None:
            self._say(console_texts.NO_OPEN_QUESTION)
            return
        button = next((b for b in self._open.reply.choices if b.label == label), None)
        if button is None:
            self._say(console_texts.no_such_option(label))
            return
        try:
            reply = await self.service.answer(self.user, self.name, button.token, chat=CHAT)
        except (AlreadyAnswered, RoundClosed, InvalidAnswer):
            self._open = None  # the question is over; anything else (busy): answer again
            raise
        self._open = None
        render(self.console, reply)

    async def _report(self, args: list[str]) -> None:
        """`/report [reason] [note]` about the last question shown (a /question or a
        practice multiple-choice one: those have a round)."""
        if self.reports is None:
            self._say(console_texts.NO_REPORTS)
            return
        reason, note = parse_report_args(args)  # an unknown reason: QuizError, said
        if self._last_round is None:
            self._say(report_texts.NO_QUESTION_TO_REPORT)
        elif reason is None:
            self._say(report_texts.REPORT_USAGE)
        else:
            filed = await self.reports.file(self.user, self.name, self._last_round, reason, note)
            render(self.console, filed.reply)

    async def _practice(self, line: str, command: str, args: list[str]) -> bool:
        """Practice commands and answers; False when `line` is not for practice."""
        assert self.practice is not None
        practice = self.practice
        if command == "/practice":
            await self._show(
                await practice.start(self.user, self.name, CHAT, " ".join(args) or None)
            )
        elif command == "/stop":
            self._step = None
            render(self.console, await practice.stop(self.user, self.name))
        elif command == "/due":
            render(self.console, await practice.due(self.user, self.name))
        elif command == "/progress":
            progress = await practice.progress(self.user, self.name)
            render(self.console, progress.reply)
            if progress.chart is not None:
                path = self.files_dir / practice_texts.CHART_FILENAME
                await asyncio.to_thread(path.write_bytes, await chart_png(progress.chart))
                self._say(practice_texts.file_written(str(path.resolve())))
        elif command == "/export":
            export = await practice.export(self.user, self.name)
            paths = [self.files_dir / file.name for file in export.files]
            for path, file in zip(paths, export.files, strict=True):
                await asyncio.to_thread(path.write_bytes, file.data)
            render(self.console, export.reply)
            for path in paths:
                self._say(practice_texts.file_written(str(path.resolve())))
        elif command == "/remind":
            self._say(console_texts.NO_REMINDERS)  # nothing runs here to send one later
        elif command == "/plan":
            render(self.console, await practice.plan(self.user, self.name, CHAT, args))
        elif command == "/mock":
            await self._show(await practice.mock.start(self.user, self.name, CHAT))
        elif command.startswith("/"):
            return False
        else:
            return await self._practice_answer(line, command)
        return True

    async def _practice_answer(self, line: str, command: str) -> bool:
        assert self.practice is not None
        if self._quiz_last and (
            command == "n" or (command.upper() in LABELS and len(command) == 1)
        ):
            return False  # for the /question shown after the practice question
        awaiting = await self.practice.awaiting(self.user, self.name)
        if awaiting is Awaiting.CHOICE and command.upper() in LABELS and len(command) == 1:
            if self._step is None or not self._step.replies[-1].choices:
                self._step = await self.practice.resume(self.user, self.name)  # a new process
            question = self._step.replies[-1]
            button = next((b for b in question.choices if b.label == command.upper()), None)
            if button is None:
                self._say(practice_texts.WANT_CHOICE)
            else:
                await self._show(await self.practice.press(self.user, self.name, button.token))
            return True
        if awaiting is Awaiting.TEXT and not (self._open and command.upper() in LABELS):
            await self._show(await self.practice.answer_text(self.user, self.name, line))
            return True
        if awaiting is Awaiting.RATING:
            rating = practice_texts.parse_rating(command)
            if rating is None:
                self._say(practice_texts.RATING_PROMPT)
            else:
                await self._show(await self.practice.rate(self.user, self.name, rating))
            return True
        return False

    async def _show(self, step: Step) -> None:
        """Render a practice step; buttons become typed input (A-D, text, 1-4)."""
        self._step = step
        self._quiz_last = False
        for reply in step.replies:  # a multiple-choice question's round, for /report
            if reply.choices and (found := CHOICE_RE.match(reply.choices[0].token)):
                self._last_round = found.group(1)
        for reply in step.replies:
            render(self.console, replace(reply, actions=()))
        last = step.replies[-1] if step.replies else None
        if step.awaiting is Awaiting.TEXT:
            self.console.print(Text(practice_texts.ANSWER_PROMPT, style="dim"))
            self.console.print()
        elif step.awaiting is Awaiting.RATING and last is not None:
            options = "   ".join(f"{n}) {b.label}" for n, b in enumerate(last.actions, 1))
            self.console.print(Text(options, style="bold"))
            self.console.print(Text(practice_texts.RATING_PROMPT, style="dim"))
            self.console.print()

    # -- /quiz: the game's posts arrive while a line is awaited (games.Screen) -------------

    def show(self, reply: Reply) -> None:
        if self._interactive and self._reading:
            self.console.print()  # off the prompt's line
        render(self.console, reply, now=self.service.clock.now())
        if self._reading:
            self._prompt()

    def note(self, text: str) -> None:
        self.console.print(Text(text, style="bold"))

    def opened(self, asked: Asked) -> None:
        self._open = asked
        self._last_round = asked.round.id
        self._quiz_last = True

    def is_open(self, round_id: str) -> bool:
        return self._open is not None and self._open.round.id == round_id

    def _prompt(self) -> None:
        """On a terminal: `> `, with the seconds left while a game's question is open."""
        if not self._interactive:
            return
        left = self.games.seconds_left() if self.games is not None else None
        prompt = "> " if left is None else console_texts.prompt_left(left)
        self.console.print(Text(prompt, style="bold cyan"), end="")

    async def _collect(self, line: str) -> bool:
        """A line while a /propose is being typed: its next part."""
        assert self.community is not None
        failed: Exception | None = None
        try:
            await self.community.step(line)
        except OutputClosed:
            raise
        except Exception as exc:
            failed = exc
            self._say(error_notice(exc, log=log, what="console /propose"))
        finally:
            self.metrics.command(Platform.CONSOLE.value, "propose", outcome(failed))
        return True

    def say(self, message: str) -> None:
        self._say(message)

    def _say(self, message: str) -> None:
        self.console.print(Text(visible(message), style="yellow"))
        self.console.print()


def _is_tty(stdin: IO[str]) -> bool:
    try:
        return stdin.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def _login_name() -> str:
    try:
        return getpass.getuser() or "you"
    except (KeyError, OSError):
        return "you"


def create_adapter(services: Services, *, files_dir: Path | None = None) -> ConsoleAdapter:
    """The terminal quiz over the services; /progress and /export write into `files_dir`."""
    return ConsoleAdapter(
        services.quiz, practice=services.practice, files_dir=files_dir, metrics=services.metrics,
        reports=services.reports, games=services.games, community=services.community,
    )  # fmt: skip
