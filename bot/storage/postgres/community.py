"""A community's own questions and its members' proposals (bot/core/community/ports.py's
CommunityStore) on PostgreSQL, safe with any number of processes on one database.

Every change that touches more than one row is one transaction, and each takes the topic's
row lock before it reads or deletes the topic's questions: an import (replace_topic) upserts
the topic first, then deletes and inserts its questions, so two imports of one topic, or an
import and an approval into it, run one after the other and the topic ends up whole. A
decision is a conditional UPDATE ... WHERE state = 'pending': of two processes deciding one
proposal, the second waits for the first's row lock, finds it decided and changes nothing.
Each change of the topics also bumps community_version in its transaction (last, so every
transaction takes the locks in one order): the other processes reload when it moves.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.core.community import (
    CommunityStore,
    NewProposal,
    Proposal,
    ProposalState,
    StoredQuestion,
    StoredTopic,
)
from bot.storage.postgres.database import PgDatabase
from bot.storage.rows import community as convert
from bot.storage.rows.community import (
    NEW_PROPOSAL_COLUMNS,
    PROPOSAL_COLUMNS,
    new_proposal_values,
)
from bot.storage.rows.community import proposal as _proposal
from bot.storage.rows.values import to_ts

__all__ = ["PgCommunityStore"]

_PROPOSAL = f"SELECT {PROPOSAL_COLUMNS} FROM community_proposals "  # noqa: S608
_UPSERT_TOPIC = """
INSERT INTO community_topics (scope, slug, title, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (scope, slug) DO UPDATE SET
    title = excluded.title, updated_at = excluded.updated_at, updated_by = excluded.updated_by
"""
# An approval keeps the topic's title (the proposal only names the slug).
_TOUCH_TOPIC = """
INSERT INTO community_topics (scope, slug, title, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (scope, slug) DO UPDATE SET
    updated_at = excluded.updated_at, updated_by = excluded.updated_by
"""
_INSERT_QUESTIONS = """
INSERT INTO community_questions (scope, local_id, topic, position, data)
SELECT $1, q.local_id, $2, q.position - 1, q.data
FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS q(local_id, data, position)
"""
_BUMP = "UPDATE community_version SET version = version + 1 WHERE id = 1"  # last: no deadlock
_APPEND_QUESTION = """
INSERT INTO community_questions (scope, local_id, topic, position, data)
SELECT $1, $2, $3, coalesce(max(position) + 1, 0), $4
FROM community_questions WHERE scope = $1 AND topic = $3
"""


class PgCommunityStore:
    """The community_* tables in one PostgreSQL database."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"PgCommunityStore({self._db!r})"

    async def all_topics(self) -> list[StoredTopic]:
        async with (
            self._db.connection() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):  # one snapshot for both reads: no import seen half
            topics = await conn.fetch(convert.TOPICS_SQL)
            rows = await conn.fetch(convert.QUESTIONS_SQL)
        return convert.stored_topics(topics, rows)

    async def version(self) -> int | None:
        return int(await self._db.fetchval("SELECT version FROM community_version"))

    async def replace_topic(self, topic: StoredTopic) -> None:
        """A local id taken by another topic of the community raises asyncpg's
        UniqueViolationError, and nothing changes."""
        t = topic
        async with self._db.transaction() as conn:
            await conn.execute(
                _UPSERT_TOPIC, t.scope, t.slug, t.title, to_ts(t.updated_at), t.updated_by
            )  # the topic's row lock, held to the end
            await conn.execute(
                "DELETE FROM community_questions WHERE scope = $1 AND topic = $2", t.scope, t.slug
            )
            await conn.execute(
                _INSERT_QUESTIONS,
                t.scope,
                t.slug,
                [q.local_id for q in t.questions],
                [q.data for q in t.questions],
            )
            await conn.execute(_BUMP)

    async def remove_topic(self, scope: str, slug: str) -> int:
        async with self._db.transaction() as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM community_topics WHERE scope = $1 AND slug = $2 FOR UPDATE",
                scope,
                slug,
            )
            if found is None:
                return 0
            count = await conn.fetchval(
                "WITH gone AS (DELETE FROM community_questions WHERE scope = $1 AND topic = $2 "
                "RETURNING 1) SELECT count(*) FROM gone",
                scope,
                slug,
            )
            await conn.execute(
                "DELETE FROM community_topics WHERE scope = $1 AND slug = $2", scope, slug
            )
            await conn.execute(_BUMP)
        return int(count)

    async def add_proposal(self, new: NewProposal) -> Proposal:
        row = await self._db.fetchrow(
            f"INSERT INTO community_proposals ({NEW_PROPOSAL_COLUMNS}) "  # noqa: S608
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            f"RETURNING {PROPOSAL_COLUMNS}",
            *new_proposal_values(new),
        )
        assert row is not None  # an INSERT ... RETURNING of one row
        return _proposal(row)

    async def proposal(self, proposal_id: int) -> Proposal | None:
        row = await self._db.fetchrow(_PROPOSAL + "WHERE id = $1", proposal_id)
        return _proposal(row) if row is not None else None

    async def pending(self, scope: str, limit: int) -> list[Proposal]:
        rows = await self._db.fetch(
            _PROPOSAL + "WHERE scope = $1 AND state = 'pending' ORDER BY created_at, id LIMIT $2",
            scope,
            limit,
        )
        return [_proposal(r) for r in rows]

    async def pending_count(self, scope: str, player_id: int | None = None) -> int:
        count = await self._db.fetchval(
            "SELECT count(*) FROM community_proposals WHERE scope = $1 AND state = 'pending' "
            "AND ($2::bigint IS NULL OR player_id = $2)",
            scope,
            player_id,
        )
        return int(count)

    async def reject(self, proposal_id: int, by: str, at: datetime) -> Proposal | None:
        async with self._db.transaction() as conn:
            return await _decide(conn, proposal_id, ProposalState.REJECTED, by, at, None)

    async def approve(
        self,
        proposal_id: int,
        by: str,
        at: datetime,
        topic: StoredTopic,
        question: StoredQuestion,
    ) -> Proposal | None:
        async with self._db.transaction() as conn:
            decided = await _decide(
                conn, proposal_id, ProposalState.APPROVED, by, at, question.local_id
            )
            if decided is not None:
                await conn.execute(
                    _TOUCH_TOPIC, topic.scope, topic.slug, topic.title, to_ts(at), by
                )  # the topic's row lock: appends to one topic queue on it
                await conn.execute(
                    _APPEND_QUESTION, topic.scope, question.local_id, topic.slug, question.data
                )
                await conn.execute(_BUMP)
            return decided


async def _decide(
    conn: asyncpg.Connection,
    proposal_id: int,
    state: ProposalState,
    by: str,
    at: datetime,
    question_id: str | None,
) -> Proposal | None:
    """Mark a pending proposal decided; None (nothing changed) if it was not pending."""
    row = await conn.fetchrow(
        "UPDATE community_proposals SET state = $2, decided_by = $3, decided_at = $4, "  # noqa: S608
        "question_id = $5 WHERE id = $1 AND state = 'pending' "
        f"RETURNING {PROPOSAL_COLUMNS}",
        proposal_id,
        state.value,
        by,
        to_ts(at),
        question_id,
    )
    return _proposal(row) if row is not None else None


def _conforms(store: PgCommunityStore) -> CommunityStore:
    return store  # mypy checks that the repository satisfies the protocol
