"""What a community's own questions and proposals need from storage."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.core.community.model import NewProposal, Proposal, StoredQuestion, StoredTopic


class CommunityStore(Protocol):
    async def all_topics(self) -> list[StoredTopic]:
        """Every community's topics with their questions (loaded when the app opens), in
        (scope, slug) order, each topic's questions in their order."""
        ...

    async def version(self) -> int | None:
        """A number that moves with every change of the topics (replace_topic, a
        remove_topic that removed, an approve that approved), whichever process made it, for
        a cheap "changed?" check; None where this process is the only writer (memory,
        SQLite): its own changes reach its library directly."""
        ...

    async def replace_topic(self, topic: StoredTopic) -> None:
        """Store `topic` whole, in one transaction: a topic of that slug in that community
        loses its questions first (an import again replaces the topic)."""
        ...

    async def remove_topic(self, scope: str, slug: str) -> int:
        """Remove a community's topic and its questions; how many questions went (0: there
        was no such topic)."""
        ...

    async def add_proposal(self, new: NewProposal) -> Proposal:
        """Store a pending proposal; it comes back with its id."""
        ...

    async def proposal(self, proposal_id: int) -> Proposal | None: ...

    async def pending(self, scope: str, limit: int) -> list[Proposal]:
        """A community's pending proposals, oldest first, at most `limit`."""
        ...

    async def pending_count(self, scope: str, player_id: int | None = None) -> int:
        """How many proposals wait in a community (by one person, with `player_id`)."""
        ...

    async def reject(self, proposal_id: int, by: str, at: datetime) -> Proposal | None:
        """Mark a pending proposal rejected; None if it was not pending (decided already)."""
        ...

    async def approve(
        self,
        proposal_id: int,
        by: str,
        at: datetime,
        topic: StoredTopic,
        question: StoredQuestion,
    ) -> Proposal | None:
        """In one transaction: mark a pending proposal approved and append `question` to
        `topic` (created with the topic's slug and title if the community has no such topic
        yet; `topic.questions` is not read). None, with nothing changed, if the proposal was
        not pending (decided already)."""
        ...
