"""The Approve and Reject buttons of a pending proposal: `cq1.<proposal id>.<a|r>`.

Like the quiz's tokens they are versioned, short (Telegram's 64-byte callback_data, Discord's
100-character custom_id) and carry no authority: a forged one can at most name a proposal,
and deciding still takes an admin of the proposal's own community, while it is pending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "cq1."
DECISION_RE = re.compile(r"cq1\.([1-9][0-9]{0,17})\.([ar])")  # matched whole (fullmatch)
MAX_TOKEN_BYTES = 64


@dataclass(frozen=True, slots=True)
class DecisionToken:
    proposal_id: int
    approve: bool


def decision_token(proposal_id: int, approve: bool) -> str:
    return f"{PREFIX}{proposal_id}.{'a' if approve else 'r'}"


def is_decision_token(token: object) -> bool:
    """Whether a button belongs to a proposal's decision (routed to CommunityService.decide)."""
    return isinstance(token, str) and token.startswith(PREFIX)


def decode_decision(token: object) -> DecisionToken | None:
    """A decision button's proposal and verdict; None for anything forged, cut or foreign."""
    if not isinstance(token, str) or len(token.encode("utf-8", "replace")) > MAX_TOKEN_BYTES:
        return None
    if m := DECISION_RE.fullmatch(token):
        return DecisionToken(int(m.group(1)), m.group(2) == "a")
    return None
