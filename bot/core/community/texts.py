"""What a community's own questions and proposals say (no platform markup: adapters escape)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.bank.question_bank import TopicInfo
from bot.core.bank.questions import LABELS
from bot.core.common.identity import Platform, shown_name
from bot.core.common.replies import Button, Paragraph, Reply
from bot.core.common.texts import community_word

HELP_LINES = (
    "/questions [list|import|export|remove|pending] — this server's or group's own questions "
    "(admins manage them; the console's are yours)",
    "/propose — suggest a question of four options for the admins to approve",
)
MESSAGE_MAX = 1900  # a list of problems is cut to this (Discord's message holds 2,000)
PROPOSALS_TOPIC = "proposals"
PROPOSALS_TITLE = "Members' proposals"
FORMAT_DOC = "docs/question-format.md"
EXPORT_HEADER = (
    "# A community's questions, exported by Stackprep. Edit and send it back with\n"
    "# /questions import (on Telegram: as a document with the caption /import); importing a\n"
    "# topic again replaces it. Format: docs/question-format.md\n\n"
)

# -- a file's problems --------------------------------------------------------------------------


def rejected(problems: Sequence[str]) -> str:
    """Every problem of a file, one a line, cut to fit one message (saying how many more)."""
    count = len(problems)
    lines = [
        f"Nothing was imported: the file has {count} problem{'s' if count != 1 else ''}. "
        "Fix and send it again."
    ]
    size = len(lines[0])
    for n, problem in enumerate(problems):
        line = f"• {problem[:300]}"
        if size + len(line) + 1 > MESSAGE_MAX - 40:
            lines.append(f"... and {count - n} more")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def too_big(filename: str, size: int, limit: int) -> str:
    return (
        f"{filename}: the file is {size / 1024 / 1024:.1f} MB; the limit is "
        f"{limit // (1024 * 1024)} MB. Split it into smaller topics."
    )


def not_text(filename: str, detail: str) -> str:
    return f"{filename}: not a text file ({detail}). Send the TOML file itself, as UTF-8 text."


def not_toml(filename: str, detail: str) -> str:
    return f"{filename}: not valid TOML: {detail}"


def shipped_topic(filename: str, slug: str) -> str:
    return (
        f"{filename}: 'topic' is {slug!r}, one of the bot's own topics; give your topic a slug "
        "of its own"
    )


def title_too_long(filename: str, length: int, limit: int) -> str:
    return f"{filename}: 'title' is {length} characters; the limit is {limit}"


def no_questions(filename: str) -> str:
    return f"{filename}: the file has no questions ([[questions]] tables)"


def too_many(filename: str, count: int, others: int, limit: int) -> str:
    return (
        f"{filename}: {count} question(s), and the community keeps {others} in its other "
        f"topics: {count + others} in all, over the limit of {limit}"
    )


def duplicate_in_file(filename: str, qid: str, first: int) -> str:
    return f"{filename}: {qid}: duplicate id (question {first} of this file has it already)"


def duplicate_in_community(filename: str, qid: str, topic: str) -> str:
    return (
        f"{filename}: {qid}: the id is taken by a question of your topic {topic!r}; ids must "
        "be unique within a community"
    )


def in_field(filename: str, where: str | None, problem: str) -> str:
    return f"{filename}: {where}: {problem}" if where else f"{filename}: {problem}"


def ping(key: str, found: str) -> str:
    what = "a mention" if found.startswith("<") else repr(found)
    return f"{_field(key)} contains {what}, which could ping people; remove it"


def not_https(key: str, link: str) -> str:
    return f"{_field(key)} has a link that is not https: {link[:80]!r}"


def _field(key: str) -> str:
    return f"'{key}'" if key else "a value"


# -- the service's replies ----------------------------------------------------------------------


NOT_IN_COMMUNITY = (
    "A community's own questions live in a server or group: use this there. (Here you get "
    "the bot's own questions.)"
)


def not_admin(platform: Platform, what: str) -> str:
    who = {
        Platform.DISCORD: "members with the Manage Server permission",
        Platform.TELEGRAM: "the group's admins",
    }.get(platform, "admins")
    return f"Only {who} can {what}. Anyone can suggest a question with /propose."


def imported(topic: str, title: str, count: int, replaced: int | None, platform: Platform) -> Reply:
    again = f", replacing the {replaced} it had" if replaced is not None else ""
    return _private(
        f"Imported {count} question(s) into {title} ({topic}){again}. They appear in "
        f"/question, /quiz and /daily in {community_word(platform)} only; /questions list "
        "shows your topics."
    )


def listing(topics: Sequence[TopicInfo], pending: int, limit: int, platform: Platform) -> Reply:
    place = community_word(platform)
    if not topics:
        lines = [
            f"{place.capitalize()} has no questions of its own yet.",
            f"Admins: /questions import with a TOML file in the bank's format ({FORMAT_DOC}).",
            "Anyone: /propose a question for the admins to approve.",
        ]
    else:
        total = sum(t.count for t in topics)
        lines = [f"{place.capitalize()}'s own questions: {total} of {limit}"]
        lines += [f"• {t.title} ({t.slug}): {t.count}" for t in topics]
        lines.append("Ask one with /question <topic>.")
    if pending:
        lines.append(f"{pending} proposal(s) wait for an admin (/questions pending).")
    return Reply((Paragraph("\n".join(lines)),))


def removed(topic: str, title: str, count: int) -> Reply:
    return _private(
        f"Removed {title} ({topic}) and its {count} question(s). A /daily schedule set to this "
        "topic alone stops at its next post (/daily status will say why)."
    )


def no_such_topic(text: str, own: Sequence[str]) -> str:
    known = ", ".join(own) if own else "none yet"
    return f"Your community has no topic {text.strip()[:40]!r}. Its topics: {known}."


def export_which(own: Sequence[str]) -> str:
    return f"Your community has {len(own)} topics; export one: {', '.join(own)}."


NOTHING_TO_EXPORT = "Your community has no questions of its own to export yet."


def full(limit: int) -> str:
    return (
        f"Your community has {limit} questions of its own, the limit: remove a topic "
        "(/questions remove) before approving more."
    )


# -- proposals ----------------------------------------------------------------------------------


def empty_field(what: str) -> str:
    return f"The {what} is empty."


def field_too_long(what: str, length: int, limit: int) -> str:
    return f"The {what} is {length} characters; the limit is {limit}."


SAME_OPTIONS = "Two options have the same text; each option must differ."
RIGHT_RANGE = "Say which option is right with a letter from A to D."


def unknown_proposal_topic(text: str, own: Sequence[str]) -> str:
    known = ", ".join(own) if own else "none yet: leave it empty"
    return f"The topic {text.strip()[:40]!r} is not one of your community's. Its topics: {known}."


def proposal_problems(problems: Sequence[str]) -> str:
    return "Nothing was sent to the admins:\n" + "\n".join(f"• {p}" for p in problems[:12])


def too_many_pending(limit: int, mine: bool) -> str:
    if mine:
        return (
            f"You have {limit} proposals waiting already; once the admins decide on them you "
            "can propose more."
        )
    return f"{limit} proposals wait for the admins already; try again once they have decided."


def proposed(platform: Platform) -> Reply:
    return _private(
        f"Thanks! Your question waits for the admins of {community_word(platform)} "
        "(/questions pending). You will be told privately when they decide."
    )


PROPOSE_USAGE = (
    'Propose a question in one line: /propose "prompt" | option A | option B | option C | '
    "option D | right letter | explanation [| topic]"
)


def proposal_reply(p_id: int, prompt: str, options: Sequence[str], right: int,
                   explanation: str, topic: str, name: str, at: datetime,
                   buttons: tuple[Button, ...]) -> Reply:  # fmt: skip
    lines = [f"Proposal #{p_id} by {shown_name(name)}, {at:%Y-%m-%d %H:%M} UTC, topic {topic}"]
    body = "\n".join(
        f"{'✅' if i == right else '▫️'} {LABELS[i]}. {text}" for i, text in enumerate(options)
    )
    return Reply(
        (Paragraph(lines[0], bold=True), Paragraph(prompt), Paragraph(body),
         Paragraph(f"Why: {explanation}")),
        actions=buttons, private=True,
    )  # fmt: skip


APPROVE = "Approve"
REJECT = "Reject"


def no_pending(platform: Platform) -> Reply:
    return _private(f"No proposals wait in {community_word(platform)}.")


def more_pending(shown: int, total: int) -> Reply:
    return _private(f"Showing the {shown} oldest of {total} waiting proposals; decide these first.")


def approved(p_id: int, title: str, topic: str, local_id: str) -> Reply:
    return _private(f"Proposal #{p_id} approved: added to {title} ({topic}) as {local_id}.")


def rejected_proposal(p_id: int) -> Reply:
    return _private(f"Proposal #{p_id} rejected.")


def already_decided(p_id: int, state: str, by: str, at: datetime | None) -> str:
    when = f" on {at:%Y-%m-%d %H:%M} UTC" if at else ""
    return f"Proposal #{p_id} was already {state} by {shown_name(by) or 'an admin'}{when}."


NO_SUCH_PROPOSAL = "That proposal is not one of this community's (or no longer exists)."
INVALID_DECISION = "That button is not valid any more."


def told_approved(prompt: str, platform: Platform) -> Reply:
    return _private(
        f"Good news: the question you proposed in {community_word(platform)} (“{_short(prompt)}”) "
        "was approved and joins its questions."
    )


def told_rejected(prompt: str, platform: Platform) -> Reply:
    return _private(
        f"The question you proposed in {community_word(platform)} (“{_short(prompt)}”) was not "
        "taken this time. Thanks for proposing; you are welcome to try another."
    )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _private(text: str) -> Reply:
    return Reply((Paragraph(text),), private=True, summary=text[:200])
