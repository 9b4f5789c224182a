"""A community's own questions in the console: `/questions` and `/propose`.

The console is a community of its own (bot/core/bank/library.py's CONSOLE_SCOPE), and the
person at the terminal runs the bot, so is its admin: `/questions import path.toml` imports a
file from disk (relative to the files folder, the working directory by default; the size is
checked before it is read), `/questions export [topic]` writes the
topic's file into the console's files folder, `/questions pending` lists the proposals and
`/questions approve|reject ID` decides one. `/propose` asks for the proposal's parts one
prompt at a time (`/cancel` stops), or takes them in one line:
`/propose "prompt" | A | B | C | D | right letter | explanation [| topic]`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from bot.adapters.console import texts
from bot.core.bank.questions import LABELS
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, UserRef
from bot.core.common.replies import Reply
from bot.core.community import (
    MAX_FILE_BYTES,
    CommunityService,
    FileRejected,
    ProposalFields,
    decision_token,
    parse_proposal_line,
    parse_right,
)
from bot.core.community import texts as community_texts

# the prompts of a proposal, one a line typed (the right letter and the topic are read last)
STEPS = (
    "prompt",
    *(f"option {label}" for label in LABELS),
    "right",
    "explanation",
    "topic",
)


class Host(Protocol):
    """What the console adapter offers: who is typing, where, and printing."""

    user: UserRef
    name: str
    files_dir: Path

    def show(self, reply: Reply) -> None: ...

    def say(self, message: str) -> None: ...


class ConsoleCommunity:
    def __init__(self, service: CommunityService, host: Host, chat: ChatRef) -> None:
        self.service = service
        self.host = host
        self.chat = chat
        self._parts: list[str] | None = None  # a /propose being typed, one part a line

    @property
    def collecting(self) -> bool:
        """A /propose is being typed: the next line is its next part."""
        return self._parts is not None

    async def questions(self, args: list[str]) -> None:
        """`/questions [list | import PATH | export [TOPIC] | remove TOPIC | pending |
        approve N | reject N]`."""
        action = args[0].casefold() if args else "list"
        rest = " ".join(args[1:]).strip()
        host, user, chat = self.host, self.host.user, self.chat
        if action == "list":
            host.show(await self.service.listing(chat))
        elif action == "import" and rest:
            await self._import(rest)
        elif action == "export":
            name, data = await self.service.export(user, chat, admin=True, topic=rest or None)
            path = host.files_dir / name
            await asyncio.to_thread(path.write_bytes, data)
            host.say(texts.exported(str(path.resolve())))
        elif action == "remove" and rest:
            host.show(await self.service.remove(user, chat, rest, admin=True))
        elif action == "pending":
            for reply in await self.service.pending(user, chat, admin=True):
                host.show(reply)
                if reply.actions:
                    host.say(texts.decide_hint(_proposal_id(reply.actions[0].token)))
        elif action in {"approve", "reject"} and rest.lstrip("#").isdigit():
            token = decision_token(int(rest.lstrip("#")), action == "approve")
            decision = await self.service.decide(user, host.name, chat, token, admin=True)
            host.show(decision.reply)
            if decision.notify is not None and decision.notify[0] == user:
                host.show(decision.notify[1])  # the proposer is the one at the terminal
        else:
            host.say(texts.QUESTIONS_USAGE)

    async def _import(self, where: str) -> None:
        """A file from disk: its size is checked before it is read."""
        path = await asyncio.to_thread(lambda: self.host.files_dir / Path(where).expanduser())
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
            if size > MAX_FILE_BYTES:
                raise FileRejected([community_texts.too_big(path.name, size, MAX_FILE_BYTES)])
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise QuizError(texts.cannot_read(where, exc.strerror or str(exc))) from None
        reply = await self.service.import_file(
            self.host.user, self.host.name, self.chat, admin=True, filename=path.name, data=data
        )
        self.host.show(reply)

    async def propose(self, rest: str) -> None:
        """`/propose` alone asks for each part in turn; with text, the one-line form."""
        if rest.strip():
            await self._send(parse_proposal_line(rest))
            return
        self._parts = []
        self.host.say(texts.PROPOSE_START)
        self.host.say(texts.propose_step(STEPS[0]))

    async def step(self, line: str) -> None:
        """The next part of a /propose being typed (`/cancel` stops it)."""
        assert self._parts is not None
        if line.strip().casefold() in {"/cancel", "cancel"}:
            self._parts = None
            self.host.say(texts.PROPOSE_CANCELLED)
            return
        self._parts.append(line.strip())
        if len(self._parts) < len(STEPS):
            self.host.say(texts.propose_step(STEPS[len(self._parts)]))
            return
        prompt, a, b, c, d, right, explanation, topic = self._parts
        self._parts = None
        fields = ProposalFields(
            prompt, (a, b, c, d), parse_right(right), explanation, topic or None
        )
        await self._send(fields)

    async def _send(self, fields: ProposalFields) -> None:
        reply = await self.service.propose(self.host.user, self.host.name, self.chat, fields)
        self.host.show(reply)


def _proposal_id(token: str) -> str:
    return token.split(".")[1] if token.count(".") == 2 else "?"
