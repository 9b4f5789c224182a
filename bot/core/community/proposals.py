"""Members' proposals: checking what was proposed, the question it becomes, and the one-line
form (`/propose "prompt" | A | B | C | D | right | explanation [| topic]`) of the console and
of a one-message proposal."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from typing import Any

from bot.core.bank.questions import (
    ID_RE,
    LABELS,
    MAX_CHOICE,
    MAX_EXPLANATION,
    MAX_PROMPT,
    parse_topic_data,
)
from bot.core.common.errors import QuizError
from bot.core.community import texts
from bot.core.community.files import text_problems
from bot.core.community.model import ProposalFields

MAX_PENDING_PER_PERSON = 5  # a person's proposals waiting in one community
MAX_PENDING = 100  # proposals waiting in one community
DIFFICULTY = 2  # a proposal has none of its own: mid
_ID_BASE = 40  # characters of the prompt's words an id is made of


def cleaned(fields: ProposalFields) -> ProposalFields:
    """Surrounding whitespace gone, line ends as \\n, control characters but line ends and
    tabs dropped (PostgreSQL stores no NUL), and lone surrogates (a JSON escape in a
    Telegram message carries one; no database stores it), every field text."""

    def text(value: object) -> str:
        raw = str(value if value is not None else "").replace("\r\n", "\n")
        return "".join(
            c for c in raw if c in "\n\t" or unicodedata.category(c) not in {"Cc", "Cs"}
        ).strip()

    options = tuple(text(o) for o in fields.options)
    topic = text(fields.topic).casefold() if fields.topic is not None else ""
    return ProposalFields(
        text(fields.prompt),
        options,  # type: ignore[arg-type]  # checked to be four by problems()
        fields.right if isinstance(fields.right, int) else -1,
        text(fields.explanation),
        topic or None,
    )


def problems(fields: ProposalFields, own_topics: Collection[str]) -> list[str]:
    """Everything wrong with a (cleaned) proposal, in words for the proposer; [] if it makes
    a valid question of the community (one of `own_topics`, when it names a topic)."""
    found: list[str] = []
    named = [("prompt", fields.prompt, MAX_PROMPT)]
    if len(fields.options) != len(LABELS):
        found.append(f"A proposal needs exactly {len(LABELS)} options.")
    else:
        named += [(f"option {LABELS[i]}", o, MAX_CHOICE) for i, o in enumerate(fields.options)]
    named.append(("explanation", fields.explanation, MAX_EXPLANATION))
    for what, value, limit in named:
        if not value:
            found.append(texts.empty_field(what))
        elif len(value) > limit:
            found.append(texts.field_too_long(what, len(value), limit))
        found += [f"{p}." for p in text_problems(value, what)]
    if not 0 <= fields.right < len(LABELS):
        found.append(texts.RIGHT_RANGE)
    options = [o.casefold() for o in fields.options if o]
    if len(set(options)) != len(options):
        found.append(texts.SAME_OPTIONS)
    if fields.topic is not None and fields.topic not in own_topics:
        found.append(texts.unknown_proposal_topic(fields.topic, sorted(own_topics)))
    if found:
        return found
    checked = parse_topic_data(
        {"topic": texts.PROPOSALS_TOPIC, "title": texts.PROPOSALS_TITLE,
         "questions": [question_data(fields, "proposal")]},
        "proposal", community=True,
    )  # fmt: skip
    return [issue.split(": ", 2)[-1] for issue in checked.issues]


def question_data(fields: ProposalFields, local_id: str) -> dict[str, Any]:
    """The question a proposal becomes, as the bank's TOML has it."""
    return {
        "id": local_id,
        "difficulty": DIFFICULTY,
        "prompt": fields.prompt,
        "explanation": fields.explanation,
        "choices": [
            {"text": text, **({"correct": True} if i == fields.right else {})}
            for i, text in enumerate(fields.options)
        ],
    }


def local_id_for(prompt: str, taken: Collection[str]) -> str:
    """A question id made of the prompt's first words (ASCII, lowercase, dashes), unique
    among `taken`: "What does GIL stand for?" -> what-does-gil-stand-for."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.casefold())
    base = ""
    for word in words:
        longer = f"{base}-{word}" if base else word[:_ID_BASE]
        if len(longer) > _ID_BASE:
            break
        base = longer
    if len(base) < 3:
        base = "proposal"
    candidate, n = base, 2
    while candidate in taken or not ID_RE.match(candidate):
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def parse_right(text: str) -> int:
    """'B', 'b', '2' -> 1; anything else -> -1 (refused by problems())."""
    value = text.strip().upper()
    if len(value) == 1 and value in LABELS:
        return LABELS.index(value)
    if value in {"1", "2", "3", "4"}:
        return int(value) - 1
    return -1


_OPTION_MARKER = re.compile(r"^\s*(?:[A-Da-d][).:]|[-*•])\s+")  # "A) ", "b. ", "- "


def options_from_lines(text: str) -> tuple[str, ...]:
    """Options typed one a line (Discord's form, a Telegram step): blank lines dropped, a
    leading "A)", "b." or "-" taken off each. Any number comes back: problems() says when it
    is not four."""
    lines = (_OPTION_MARKER.sub("", line, count=1).strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def parse_proposal_line(text: str) -> ProposalFields:
    """`"prompt" | A | B | C | D | right | explanation [| topic]` (quotes optional);
    QuizError with the form's usage when the parts do not fit it."""
    parts = [_unquote(p) for p in text.split("|")]
    if len(parts) not in (7, 8):
        raise QuizError(texts.PROPOSE_USAGE)
    prompt, a, b, c, d, right, explanation = parts[:7]
    topic = parts[7] if len(parts) == 8 and parts[7] else None
    return ProposalFields(prompt, (a, b, c, d), parse_right(right), explanation, topic)


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1].strip()
    return part
