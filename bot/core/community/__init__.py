"""A community's own questions (issue 16): an admin's TOML file per topic, validated whole by
the bank's validator (its community profile) and kept apart from every other community
(ids `<scope>/<local id>`, bot/core/bank/library.py); members' proposals, approved or
rejected by the admins with buttons, the proposer told privately."""

from bot.core.community.files import MAX_FILE_BYTES, MAX_QUESTIONS, FileRejected
from bot.core.community.model import (
    Decision,
    NewProposal,
    Proposal,
    ProposalFields,
    ProposalState,
    StoredQuestion,
    StoredTopic,
    TopicChoice,
)
from bot.core.community.ports import CommunityStore
from bot.core.community.proposals import parse_proposal_line, parse_right
from bot.core.community.service import AlreadyDecided, CommunityService
from bot.core.community.tokens import (
    DECISION_RE,
    DecisionToken,
    decision_token,
    decode_decision,
    is_decision_token,
)

__all__ = [
    "DECISION_RE",
    "MAX_FILE_BYTES",
    "MAX_QUESTIONS",
    "AlreadyDecided",
    "CommunityService",
    "CommunityStore",
    "Decision",
    "DecisionToken",
    "FileRejected",
    "NewProposal",
    "Proposal",
    "ProposalFields",
    "ProposalState",
    "StoredQuestion",
    "StoredTopic",
    "TopicChoice",
    "decision_token",
    "decode_decision",
    "is_decision_token",
    "parse_proposal_line",
    "parse_right",
]
