"""The terminal quiz: the default when no platform token is configured.

Works on a terminal and with piped stdin (so tests can drive it as a subprocess); state lives
in the same SQLite store as the platform bots, so scores survive a restart.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shlex
import sys
from collections.abc import AsyncIterator
from typing import IO, assert_never

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from bot.core import texts
from bot.core.errors import QuizError
from bot.core.identity import ChatRef, Platform, UserRef
from bot.core.questions import LABELS
from bot.core.replies import Code, Paragraph, Reply
from bot.core.service import Asked, QuizService

log = logging.getLogger(__name__)

CHAT = ChatRef(Platform.CONSOLE, "console", None)


def render(console: Console, reply: Reply) -> None:
    """Print a Reply: text is never parsed as markup; code is syntax-highlighted."""
    for block in reply.blocks:
        match block:
            case Paragraph(text=text, bold=bold):
                console.print(Text(text, style="bold" if bold else ""))
            case Code(text=code, language=language):
                console.print(Syntax(code, language, theme="monokai", line_numbers=False))
            case _:
                assert_never(block)
    if reply.choices:
        letters = ", ".join(b.label for b in reply.choices)
        console.print(Text(f"Answer with {letters}.", style="dim"))
    if reply.actions:
        console.print(Text("Type n for the next question.", style="dim"))
    console.print()


class ConsoleAdapter:
    def __init__(
        self,
        service: QuizService,
        *,
        stdin: IO[str] | None = None,
        console: Console | None = None,
        user_id: str | None = None,
    ) -> None:
        self.service = service
        self.stdin = stdin or sys.stdin
        self.console = console or Console(highlight=False)
        name = user_id or _login_name()
        self.user = UserRef(Platform.CONSOLE, name)
        self.name = name
        self._open: Asked | None = None
        self._last_topic: tuple[str | None, str | None] = (None, None)

    async def run(self) -> int:
        render(self.console, self.service.welcome(Platform.CONSOLE))
        async for line in self._lines():
            if not await self.handle(line):
                break
        self.console.print(Text("Bye! Your score is saved.", style="dim"))
        return 0

    async def _lines(self) -> AsyncIterator[str]:
        interactive = self.stdin.isatty()
        reader = await _stream_reader(self.stdin)
        while True:
            if interactive:
                self.console.print(Text("> ", style="bold cyan"), end="")
            if reader is not None:
                raw = await reader.readline()
                line = raw.decode("utf-8", "replace")
            else:
                line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                return
            yield line.strip()

    async def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        if not line:
            return True
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        command, args = words[0].casefold(), words[1:]
        try:
            if command in {"/quit", "/exit", "quit", "exit"}:
                return False
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
            elif command == "/topics":
                render(self.console, self.service.topics())
            elif command in {"/help", "help", "/start"}:
                render(self.console, self.service.help(Platform.CONSOLE))
            else:
                self._say(f"Unknown command {words[0][:30]!r}. Type /help for the commands.")
        except QuizError as exc:
            self._say(exc.message)
        except Exception:
            log.exception("console command %r failed", line[:80])
            self._say(texts.APOLOGY)
        return True

    async def _ask(self, topic: str | None, difficulty: str | None) -> None:
        self._open = await self.service.ask(self.user, self.name, CHAT, topic, difficulty)
        render(self.console, self._open.reply)

    async def _answer(self, label: str) -> None:
        if self._open is None:
            self._say("There is no open question. Ask for one with /question.")
            return
        button = next((b for b in self._open.reply.choices if b.label == label), None)
        if button is None:
            self._say(f"This question has no option {label}.")
            return
        try:
            render(self.console, await self.service.answer(self.user, self.name, button.token))
        finally:
            self._open = None

    def _say(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"))
        self.console.print()


def _login_name() -> str:
    try:
        return getpass.getuser() or "you"
    except (KeyError, OSError):
        return "you"


async def _stream_reader(stdin: IO[str]) -> asyncio.StreamReader | None:
    """A non-blocking reader over stdin when it is a pipe or terminal; None for plain files."""
    try:
        stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except (ValueError, OSError):
        return None
    return reader
