"""A community's own questions and its members' proposals (bot/core/community/ports.py's
CommunityStore) over a Database (schema 14).

Every change that touches more than one row is one transaction on the writer's thread: an
import replaces a topic whole, and an approval marks the proposal and adds its question
together, only if the proposal is still pending (so a second decision changes nothing).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from bot.core.community import (
    CommunityStore,
    NewProposal,
    Proposal,
    ProposalState,
    StoredQuestion,
    StoredTopic,
)
from bot.storage.rows import community as convert
from bot.storage.rows.community import (
    NEW_PROPOSAL_COLUMNS,
    PROPOSAL_COLUMNS,
    new_proposal_values,
)
from bot.storage.rows.community import proposal as _proposal
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import to_ts

__all__ = ["SqliteCommunityStore"]

_PROPOSAL = f"SELECT {PROPOSAL_COLUMNS} FROM community_proposals "  # noqa: S608
_UPSERT_TOPIC = """
INSERT INTO community_topics (scope, slug, title, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (scope, slug) DO UPDATE SET
    title = excluded.title, updated_at = excluded.updated_at, updated_by = excluded.updated_by
"""
_INSERT_QUESTION = """
INSERT INTO community_questions (scope, local_id, topic, position, data) VALUES (?, ?, ?, ?, ?)
"""


def _replace(conn: sqlite3.Connection, topic: StoredTopic) -> None:
    conn.execute(
        "DELETE FROM community_questions WHERE scope = ? AND topic = ?", (topic.scope, topic.slug)
    )
    conn.execute(
        _UPSERT_TOPIC,
        (topic.scope, topic.slug, topic.title, to_ts(topic.updated_at), topic.updated_by),
    )
    conn.executemany(
        _INSERT_QUESTION,
        [(topic.scope, q.local_id, topic.slug, n, q.data) for n, q in enumerate(topic.questions)],
    )


def _remove(conn: sqlite3.Connection, scope: str, slug: str) -> int:
    count = conn.execute(
        "DELETE FROM community_questions WHERE scope = ? AND topic = ?", (scope, slug)
    ).rowcount
    conn.execute("DELETE FROM community_topics WHERE scope = ? AND slug = ?", (scope, slug))
    return int(count)


def _decide(
    conn: sqlite3.Connection,
    proposal_id: int,
    state: ProposalState,
    by: str,
    at: datetime,
    added: tuple[StoredTopic, StoredQuestion] | None,
) -> Any:
    changed = conn.execute(
        "UPDATE community_proposals SET state = ?, decided_by = ?, decided_at = ?, "
        "question_id = ? WHERE id = ? AND state = 'pending'",
        (state.value, by, to_ts(at), added[1].local_id if added else None, proposal_id),
    ).rowcount
    if not changed:
        return None
    if added is not None:
        topic, question = added
        conn.execute(
            "INSERT INTO community_topics (scope, slug, title, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, slug) DO UPDATE SET "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (topic.scope, topic.slug, topic.title, to_ts(at), by),
        )
        (position,) = conn.execute(
            "SELECT coalesce(max(position) + 1, 0) FROM community_questions "
            "WHERE scope = ? AND topic = ?",
            (topic.scope, topic.slug),
        ).fetchone()
        conn.execute(
            _INSERT_QUESTION,
            (topic.scope, question.local_id, topic.slug, position, question.data),
        )
    return conn.execute(_PROPOSAL + "WHERE id = ?", (proposal_id,)).fetchone()


class SqliteCommunityStore:
    """The community_* tables, reached only through the Database's reads and writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteCommunityStore({self._db!r})"

    async def all_topics(self) -> list[StoredTopic]:
        topics = await self._db.read(convert.TOPICS_SQL)
        rows = await self._db.read(convert.QUESTIONS_SQL)
        return convert.stored_topics(topics, rows)

    async def version(self) -> int | None:
        return None  # this process is the only writer

    async def replace_topic(self, topic: StoredTopic) -> None:
        await self._db.write_with(lambda conn: _replace(conn, topic))

    async def remove_topic(self, scope: str, slug: str) -> int:
        return await self._db.write_with(lambda conn: _remove(conn, scope, slug))

    async def add_proposal(self, new: NewProposal) -> Proposal:

        def add(conn: sqlite3.Connection) -> Any:
            cursor = conn.execute(
                f"INSERT INTO community_proposals ({NEW_PROPOSAL_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                new_proposal_values(new),
            )
            return conn.execute(_PROPOSAL + "WHERE id = ?", (cursor.lastrowid,)).fetchone()

        return _proposal(await self._db.write_with(add))

    async def proposal(self, proposal_id: int) -> Proposal | None:
        rows = await self._db.read(_PROPOSAL + "WHERE id = ?", (proposal_id,))
        return _proposal(rows[0]) if rows else None

    async def pending(self, scope: str, limit: int) -> list[Proposal]:
        rows = await self._db.read(
            _PROPOSAL + "WHERE scope = ? AND state = 'pending' ORDER BY created_at, id LIMIT ?",
            (scope, limit),
        )
        return [_proposal(r) for r in rows]

    async def pending_count(self, scope: str, player_id: int | None = None) -> int:
        rows = await self._db.read(
            "SELECT count(*) FROM community_proposals WHERE scope = ? AND state = 'pending' "
            "AND (? IS NULL OR player_id = ?)",
            (scope, player_id, player_id),
        )
        return int(rows[0][0])

    async def reject(self, proposal_id: int, by: str, at: datetime) -> Proposal | None:
        row = await self._db.write_with(
            lambda conn: _decide(conn, proposal_id, ProposalState.REJECTED, by, at, None)
        )
        return _proposal(row) if row is not None else None

    async def approve(
        self,
        proposal_id: int,
        by: str,
        at: datetime,
        topic: StoredTopic,
        question: StoredQuestion,
    ) -> Proposal | None:
        row = await self._db.write_with(
            lambda conn: _decide(
                conn, proposal_id, ProposalState.APPROVED, by, at, (topic, question)
            )
        )
        return _proposal(row) if row is not None else None


def _conforms(store: SqliteCommunityStore) -> CommunityStore:
    return store  # mypy checks that the repository satisfies the protocol
