"""PgCommunityStore with several processes on one database: a proposal is decided once, by
one of them; approvals into one topic get one position each; two imports of one topic leave
it whole (one import's questions, never a mix). The single-process contract is
test_community_store.py's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.core.common.identity import Platform, UserRef
from bot.core.community import NewProposal, Proposal, ProposalFields, StoredQuestion, StoredTopic
from bot.storage.postgres import PgCommunityStore
from tests.fakes.pg_processes import add_players, processes

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SCOPE = "discord:1"


def topic(slug: str, *ids: str) -> StoredTopic:
    questions = tuple(StoredQuestion(i, f'{{"id": "{i}"}}') for i in ids)
    return StoredTopic(SCOPE, slug, "T", questions, T0, "Ann")


async def proposals(store: PgCommunityStore, player: int, count: int) -> list[int]:
    fields = ProposalFields("P?", ("a", "b", "c", "d"), 2, "why", None)
    user = UserRef(Platform.DISCORD, "1")
    return [
        (
            await store.add_proposal(
                NewProposal(SCOPE, "discord:10", user, player, "Ann", fields, T0)
            )
        ).id
        for _ in range(count)
    ]


async def test_a_proposal_is_decided_once_across_processes() -> None:
    async with processes(2) as dbs:
        (ann,) = await add_players(dbs[0], 1)
        a, b = (PgCommunityStore(db) for db in dbs)
        (pid,) = await proposals(a, ann, 1)
        decided = await asyncio.gather(
            *(
                store.approve(pid, name, T0, topic("proposals"), StoredQuestion(f"q-{name}", "{}"))
                for store, name in ((a, "ada"), (b, "bo"), (a, "cy"), (b, "di"))
            )
        )
        winners = [d for d in decided if d is not None]
        assert len(winners) == 1 and isinstance(winners[0], Proposal)
        (stored,) = await b.all_topics()
        assert [q.local_id for q in stored.questions] == [winners[0].question_id]
        assert await b.proposal(pid) == winners[0]


async def test_approvals_into_one_topic_each_get_a_place() -> None:
    async with processes(2) as dbs:
        (ann,) = await add_players(dbs[0], 1)
        a, b = (PgCommunityStore(db) for db in dbs)
        ids = await proposals(a, ann, 8)
        await a.replace_topic(topic("proposals", "q-first"))
        await asyncio.gather(
            *(
                (a, b)[n % 2].approve(
                    pid, "Ada", T0, topic("proposals"), StoredQuestion(f"q{n}", "{}")
                )
                for n, pid in enumerate(ids)
            )
        )
        positions = await dbs[0].fetch("SELECT position FROM community_questions ORDER BY 1")
        assert [r[0] for r in positions] == list(range(9))


async def test_two_imports_of_one_topic_leave_one_of_them_whole() -> None:
    async with processes(2) as dbs:
        a, b = (PgCommunityStore(db) for db in dbs)
        first = topic("web", *(f"a{n}" for n in range(40)))
        second = topic("web", *(f"b{n}" for n in range(30)))
        for _ in range(5):
            await asyncio.gather(a.replace_topic(first), b.replace_topic(second))
            (stored,) = await a.all_topics()
            assert stored in (first, second)
