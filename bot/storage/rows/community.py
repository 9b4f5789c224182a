"""A community's proposals' rows <-> values, for both SQL engines (a proposal's four options
are stored as one JSON array)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bot.core.common.identity import Platform, UserRef
from bot.core.community import NewProposal, Proposal, ProposalFields, ProposalState
from bot.core.community.model import StoredQuestion, StoredTopic
from bot.storage.rows.values import from_ts, to_ts

PROPOSAL_COLUMNS = (
    "id, scope, place, platform, user_id, player_id, name, prompt, options, right_index, "
    "explanation, topic, created_at, state, decided_by, decided_at, question_id"
)
NEW_PROPOSAL_COLUMNS = (
    "scope, place, platform, user_id, player_id, name, prompt, options, right_index, "
    "explanation, topic, created_at"
)


def proposal(row: Any) -> Proposal:
    """A proposal from a row in PROPOSAL_COLUMNS order."""
    (pid, scope, place, platform, user_id, player, name, prompt, options, right, explanation,
     topic, created, state, by, decided, question) = row  # fmt: skip
    a, b, c, d = json.loads(options)
    return Proposal(
        pid, scope, place, UserRef(Platform(platform), user_id), player, name,
        ProposalFields(prompt, (a, b, c, d), right, explanation, topic), from_ts(created),
        ProposalState(state), by, from_ts(decided) if decided is not None else None, question,
    )  # fmt: skip


def new_proposal_values(new: NewProposal) -> tuple[Any, ...]:
    """A new proposal's values in NEW_PROPOSAL_COLUMNS order."""
    f = new.fields
    return (
        new.scope, new.place, new.proposer.platform.value, new.proposer.user_id, new.player_id,
        new.name, f.prompt, json.dumps(list(f.options)), f.right, f.explanation, f.topic,
        to_ts(new.created_at),
    )  # fmt: skip


TOPICS_SQL = (
    "SELECT scope, slug, title, updated_at, updated_by FROM community_topics ORDER BY scope, slug"
)
QUESTIONS_SQL = (
    "SELECT scope, topic, local_id, data FROM community_questions ORDER BY scope, topic, position"
)


def stored_topics(topics: Iterable[Any], rows: Iterable[Any]) -> list[StoredTopic]:
    """Every community's topics (TOPICS_SQL's rows) with their questions (QUESTIONS_SQL's)."""
    questions: dict[tuple[str, str], list[StoredQuestion]] = {}
    for scope, topic, local_id, data in rows:
        questions.setdefault((scope, topic), []).append(StoredQuestion(local_id, data))
    return [
        StoredTopic(scope, slug, title, tuple(questions.get((scope, slug), ())), from_ts(at), by)
        for scope, slug, title, at, by in topics
    ]
