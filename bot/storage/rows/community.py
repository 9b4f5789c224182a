"""A community's proposals' rows <-> values, for both SQL engines (a proposal's four options
are stored as one JSON array)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.common.identity import Platform, UserRef
from bot.core.community import NewProposal, Proposal, ProposalFields, ProposalState
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
