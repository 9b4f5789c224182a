"""A community's own questions and its members' proposals: the values the service and its
store exchange."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.common.identity import UserRef
from bot.core.common.replies import Reply


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    """One of a community's questions as stored: its local id (without the scope) and its
    fields as the bank's TOML has them, as JSON (`bot.core.community.files.to_data`)."""

    local_id: str
    data: str


@dataclass(frozen=True, slots=True)
class StoredTopic:
    """One of a community's topics with its questions, in their order."""

    scope: str
    slug: str
    title: str
    questions: tuple[StoredQuestion, ...]
    updated_at: datetime
    updated_by: str  # the display name of who imported it last (or approved into it)


@dataclass(frozen=True, slots=True)
class ProposalFields:
    """What a member proposes: a prompt, four options, which is right (0-3: A-D), an
    explanation, and optionally one of the community's topics."""

    prompt: str
    options: tuple[str, str, str, str]
    right: int
    explanation: str
    topic: str | None = None


class ProposalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class NewProposal:
    scope: str
    place: str  # the chat key where it was proposed
    proposer: UserRef
    player_id: int
    name: str  # the proposer's display name, cleaned
    fields: ProposalFields
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    scope: str
    place: str
    proposer: UserRef
    player_id: int
    name: str
    fields: ProposalFields
    created_at: datetime
    state: ProposalState = ProposalState.PENDING
    decided_by: str = ""
    decided_at: datetime | None = None
    question_id: str | None = None  # the local id it was added as, once approved


@dataclass(frozen=True, slots=True)
class Decision:
    """An admin's approve or reject: what the admin is shown, and what the proposer is told
    privately (Discord: a DM; Telegram: their private chat), if anything."""

    reply: Reply
    notify: tuple[UserRef, Reply] | None


@dataclass(frozen=True, slots=True)
class TopicChoice:
    """One entry of a topics autocomplete: `label` to show (at most 100 characters, the
    community's own marked), `slug` to send back; `own`: the community's own topic."""

    slug: str
    label: str
    own: bool
