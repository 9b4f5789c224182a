"""One contract for every CommunityStore implementation (memory, SQLite and PostgreSQL).
Several processes on one PostgreSQL database: test_postgres_community.py."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.app.bootstrap import App
from bot.core.common.identity import Platform, UserRef
from bot.core.community import (
    CommunityStore,
    NewProposal,
    ProposalFields,
    ProposalState,
    StoredQuestion,
    StoredTopic,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TAKEN = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)  # memory raises SQLite's
ANN = UserRef(Platform.DISCORD, "1")


def topic(slug: str, *ids: str, scope: str = "discord:1", title: str = "T") -> StoredTopic:
    questions = tuple(StoredQuestion(i, f'{{"id": "{i}"}}') for i in ids)
    return StoredTopic(scope, slug, title, questions, T0, "Ann")


async def new(app: App, scope: str = "discord:1", prompt: str = "P?", at: datetime = T0) -> int:
    player = await app.store.player(ANN, "Ann")
    fields = ProposalFields(prompt, ("a", "b", "c", "d"), 2, "why", None)
    stored = await app.community.store.add_proposal(
        NewProposal(scope, "discord:10", ANN, player, "Ann", fields, at)
    )
    assert (stored.fields, stored.proposer, stored.state) == (fields, ANN, ProposalState.PENDING)
    return stored.id


async def test_topics_round_trip_and_an_import_replaces_a_topic(app: App) -> None:
    store: CommunityStore = app.community.store
    assert await store.all_topics() == []
    await store.replace_topic(topic("web", "w-two", "w-one"))
    await store.replace_topic(topic("jobs", "j-one"))
    await store.replace_topic(topic("jobs", "j-one", scope="telegram:-1"))
    assert await store.all_topics() == [
        topic("jobs", "j-one"), topic("web", "w-two", "w-one"),
        topic("jobs", "j-one", scope="telegram:-1"),
    ]  # fmt: skip
    await store.replace_topic(topic("web", "w-three", title="Web"))
    assert (await store.all_topics())[1] == topic("web", "w-three", title="Web")
    assert await store.remove_topic("discord:1", "web") == 1
    assert await store.remove_topic("discord:1", "web") == 0
    assert [t.slug for t in await store.all_topics()] == ["jobs", "jobs"]


async def test_a_local_id_is_unique_in_its_community(app: App) -> None:
    store = app.community.store
    await store.replace_topic(topic("jobs", "same"))
    with pytest.raises(TAKEN):
        await store.replace_topic(topic("web", "same"))
    assert [t.slug for t in await store.all_topics()] == ["jobs"]  # the import left no trace
    await store.replace_topic(topic("web", "same", scope="discord:2"))  # another community


async def test_pending_proposals_in_order_and_counted(app: App) -> None:
    store = app.community.store
    first = await new(app, at=T0 + timedelta(minutes=1))
    second = await new(app, at=T0)
    await new(app, scope="discord:2")
    assert [p.id for p in await store.pending("discord:1", 10)] == [second, first]
    assert [p.id for p in await store.pending("discord:1", 1)] == [second]
    player = await app.store.player(ANN, "Ann")
    assert await store.pending_count("discord:1") == 2
    assert await store.pending_count("discord:1", player) == 2
    assert await store.pending_count("discord:1", player + 1) == 0
    assert await store.proposal(999) is None


async def test_a_proposal_is_decided_once(app: App) -> None:
    store = app.community.store
    rejected, approved = await new(app), await new(app)
    done = await store.reject(rejected, "Ada", T0)
    assert done is not None and (done.state, done.decided_by, done.decided_at) == (
        ProposalState.REJECTED, "Ada", T0
    )  # fmt: skip
    assert await store.reject(rejected, "Eve", T0) is None
    question = StoredQuestion("q-one", '{"id": "q-one"}')
    assert await store.approve(rejected, "Eve", T0, topic("proposals"), question) is None
    assert await store.all_topics() == []  # a refused approval adds nothing

    done = await store.approve(approved, "Ada", T0, topic("proposals", title="Ideas"), question)
    assert done is not None and done.state is ProposalState.APPROVED
    assert done.question_id == "q-one"
    later = await new(app)
    again = StoredQuestion("q-two", '{"id": "q-two"}')
    await store.approve(later, "Bo", T0, topic("proposals", title="ignored"), again)
    (grown,) = await store.all_topics()
    assert (grown.slug, grown.title, grown.updated_by) == ("proposals", "Ideas", "Bo")
    assert grown.questions == (question, again)
    assert await store.pending_count("discord:1") == 0
    stored = await store.proposal(approved)
    assert stored == done


async def test_the_version_moves_with_every_change_of_the_topics(app: App) -> None:
    """What other processes check before reloading (None: this process is the only writer,
    memory and SQLite); a change that changed nothing leaves it."""
    store = app.community.store
    seen = [await store.version()]
    if seen[0] is None:
        await store.replace_topic(topic("jobs", "j-one"))
        assert await store.version() is None
        return

    async def moved() -> bool:
        seen.append(await store.version())
        return seen[-1] != seen[-2]

    await store.replace_topic(topic("jobs", "j-one"))
    assert await moved()
    rejected, approved = await new(app), await new(app)
    assert not await moved()  # proposals are not topics
    await store.reject(rejected, "Ada", T0)
    assert not await moved()
    question = StoredQuestion("q-one", '{"id": "q-one"}')
    await store.approve(approved, "Ada", T0, topic("proposals"), question)
    assert await moved()
    await store.approve(approved, "Eve", T0, topic("proposals"), question)  # decided already
    assert not await moved()
    assert await store.remove_topic("discord:1", "jobs") == 1
    assert await moved()
    assert await store.remove_topic("discord:1", "jobs") == 0
    assert not await moved()
