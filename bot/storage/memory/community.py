"""A community's own questions and proposals in memory (tests, dry runs), held to the same
contract tests as the SQLite store (bot/storage/sqlite/community.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime

from bot.core.community import (
    CommunityStore,
    NewProposal,
    Proposal,
    ProposalState,
    StoredQuestion,
    StoredTopic,
)

__all__ = ["MemoryCommunityStore"]

_PENDING = ProposalState.PENDING


class MemoryCommunityStore:
    def __init__(self) -> None:
        self._topics: dict[tuple[str, str], StoredTopic] = {}
        self._proposals: dict[int, Proposal] = {}

    async def all_topics(self) -> list[StoredTopic]:
        return [self._topics[key] for key in sorted(self._topics)]

    async def version(self) -> int | None:
        return None  # this process is the only writer

    async def replace_topic(self, topic: StoredTopic) -> None:
        taken = {
            q.local_id
            for (scope, slug), t in self._topics.items()
            if scope == topic.scope and slug != topic.slug
            for q in t.questions
        }
        ids = [q.local_id for q in topic.questions]
        if len(set(ids)) != len(ids) or taken.intersection(ids):
            raise sqlite3.IntegrityError("a local id is taken in this community")  # as SQLite
        self._topics[topic.scope, topic.slug] = topic

    async def remove_topic(self, scope: str, slug: str) -> int:
        gone = self._topics.pop((scope, slug), None)
        return len(gone.questions) if gone else 0

    async def add_proposal(self, new: NewProposal) -> Proposal:
        stored = Proposal(
            len(self._proposals) + 1, new.scope, new.place, new.proposer, new.player_id,
            new.name, new.fields, new.created_at,
        )  # fmt: skip
        self._proposals[stored.id] = stored
        return stored

    async def proposal(self, proposal_id: int) -> Proposal | None:
        return self._proposals.get(proposal_id)

    async def pending(self, scope: str, limit: int) -> list[Proposal]:
        waiting = [p for p in self._proposals.values() if p.scope == scope and p.state is _PENDING]
        return sorted(waiting, key=lambda p: (p.created_at, p.id))[:limit]

    async def pending_count(self, scope: str, player_id: int | None = None) -> int:
        return sum(
            p.scope == scope and p.state is _PENDING and player_id in (None, p.player_id)
            for p in self._proposals.values()
        )

    async def reject(self, proposal_id: int, by: str, at: datetime) -> Proposal | None:
        return self._decide(proposal_id, ProposalState.REJECTED, by, at, None)

    async def approve(
        self,
        proposal_id: int,
        by: str,
        at: datetime,
        topic: StoredTopic,
        question: StoredQuestion,
    ) -> Proposal | None:
        found = self._proposals.get(proposal_id)
        if found is None or found.state is not _PENDING:
            return None
        existing = self._topics.get((topic.scope, topic.slug))
        grown = (
            replace(existing, questions=(*existing.questions, question), updated_at=at,
                    updated_by=by)
            if existing is not None
            else replace(topic, questions=(question,), updated_at=at, updated_by=by)
        )  # fmt: skip
        await self.replace_topic(grown)
        return self._decide(proposal_id, ProposalState.APPROVED, by, at, question.local_id)

    def _decide(
        self, proposal_id: int, state: ProposalState, by: str, at: datetime, question: str | None
    ) -> Proposal | None:
        found = self._proposals.get(proposal_id)
        if found is None or found.state is not _PENDING:
            return None
        self._proposals[proposal_id] = decided = replace(
            found, state=state, decided_by=by, decided_at=at, question_id=question
        )
        return decided


def _conforms(store: MemoryCommunityStore) -> CommunityStore:
    return store  # mypy checks that the store satisfies the protocol
