"""Community questions with several processes on one PostgreSQL database (issue 14): an
import, a removal or an approval made on one process reaches every other process's library
at its next CommunityService.refresh (run.py runs it every few seconds in each process), and
a round of a question removed elsewhere gets a clear reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.app.run import following_communities
from bot.core.common.errors import InvalidAnswer, UnknownTopic
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.community.tokens import decision_token
from tests.fakes.app import make_app
from tests.fakes.community import FILENAME, TOPIC, community_file, proposal
from tests.fakes.postgres import fresh_schema

GUILD = ChatRef(Platform.DISCORD, "10", "1")
ADMIN = UserRef(Platform.DISCORD, "100")
MEMBER = UserRef(Platform.DISCORD, "200")


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[App, App]]:
    """Two apps (two processes) on one fresh PostgreSQL schema."""
    async with (
        fresh_schema() as url,
        make_app(tmp_path / "a", storage="postgresql", url=url) as a,
        make_app(tmp_path / "b", storage="postgresql", url=url) as b,
    ):
        yield a, b


async def imported(app: App, *ids: str) -> None:
    await app.community.import_file(
        ADMIN, "Ada", GUILD, admin=True, filename=FILENAME, data=community_file(*ids)
    )


async def listed(app: App) -> str:
    return (await app.community.listing(GUILD)).plain_text()


async def test_an_import_and_a_removal_on_one_process_reach_the_other(
    two: tuple[App, App],
) -> None:
    a, b = two
    await imported(a, "jobs-one", "jobs-two")
    with pytest.raises(UnknownTopic):  # not seen on B before its refresh
        await b.quiz.ask(MEMBER, "Bo", GUILD, TOPIC)
    assert await b.community.refresh() is True
    assert await b.community.refresh() is False  # nothing changed since
    assert TOPIC in await listed(b)
    asked = await b.quiz.ask(MEMBER, "Bo", GUILD, TOPIC)
    assert asked.question.id in {"discord:1/jobs-one", "discord:1/jobs-two"}
    right = asked.round.correct_label(asked.question)
    reply = await b.quiz.answer_choice(MEMBER, "Bo", asked.round.id, right, chat=GUILD)
    assert "+20" in reply.plain_text()

    pending = await b.quiz.ask(MEMBER, "Cy", GUILD, TOPIC)
    await a.community.remove(ADMIN, GUILD, TOPIC, admin=True)
    assert await b.community.refresh() is True
    assert TOPIC not in await listed(b)
    assert b.quiz.library.community("discord:1") is None
    with pytest.raises(UnknownTopic):
        await b.quiz.ask(MEMBER, "Bo", GUILD, TOPIC)
    label = pending.round.correct_label(pending.question)
    with pytest.raises(InvalidAnswer) as refused:  # a clear reply, as for any stale button
        await b.quiz.answer_choice(MEMBER, "Cy", pending.round.id, label, chat=GUILD)
    assert refused.value.message == "This question is no longer open."


async def test_an_approval_on_one_process_reaches_the_other(two: tuple[App, App]) -> None:
    a, b = two
    await imported(a, "jobs-one")
    await a.community.propose(MEMBER, "Bo", GUILD, proposal())
    (shown,) = await a.community.pending(ADMIN, GUILD, admin=True)
    pid = int(shown.actions[0].token.split(".")[1])
    await b.community.refresh()
    await a.community.decide(ADMIN, "Ada", GUILD, decision_token(pid, True), admin=True)
    assert await b.community.refresh() is True
    own = b.quiz.library.community("discord:1")
    assert own is not None
    assert [t.slug for t in own.topics] == [TOPIC, "proposals"]
    assert b.quiz.library.get("discord:1/which-port-does-acme-s-api-listen-on") is not None


async def test_every_process_follows_the_others_while_it_runs(two: tuple[App, App]) -> None:
    """run.py's task (here every 0.05 s): the import on A appears on B, leader or not."""
    a, b = two
    async with following_communities(b, every=0.05):
        await imported(a, "jobs-one")
        for _ in range(500):  # 10 s at most
            if b.quiz.library.get("discord:1/jobs-one") is not None:
                break
            await asyncio.sleep(0.02)
        assert b.quiz.library.get("discord:1/jobs-one") is not None
