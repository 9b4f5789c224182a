"""Members' proposals through the real service, over memory and SQLite: propose, the pending
list with its buttons, approve (the question joins the community, the proposer is told) or
reject, once; and the bad inputs, refused with nothing changed."""

from __future__ import annotations

import pytest

from bot.app.bootstrap import App
from bot.core.common.errors import NotAllowed, QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.community import (
    AlreadyDecided,
    ProposalState,
    decision_token,
    decode_decision,
    parse_proposal_line,
)
from bot.core.community.model import ProposalFields
from bot.core.community.proposals import MAX_PENDING_PER_PERSON, cleaned, local_id_for
from tests.fakes.community import community_file, proposal

GUILD = ChatRef(Platform.DISCORD, "10", "1")
OTHER = ChatRef(Platform.DISCORD, "20", "2")
GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
ADMIN = UserRef(Platform.DISCORD, "100")
MEMBER = UserRef(Platform.DISCORD, "200")


async def proposed(
    app: App, chat: ChatRef = GUILD, who: UserRef = MEMBER, **changes: object
) -> int:
    reply = await app.community.propose(who, "Bo", chat, proposal(**changes))
    assert "waits for the admins" in reply.plain_text() and reply.private
    scope = chat.scope or ""
    waiting = await app.community.store.pending(scope, 100)
    return waiting[-1].id


async def test_propose_then_approve_adds_the_question_and_tells_the_proposer(app: App) -> None:
    pid = await proposed(app)
    (shown,) = await app.community.pending(ADMIN, GUILD, admin=True)
    text = shown.plain_text()
    assert f"Proposal #{pid} by Bo" in text and "topic proposals" in text
    assert "✅ B. 443" in text and "▫️ A. 8080" in text
    assert "Why: The API sits behind the TLS terminator on 443." in text
    assert [(b.label, b.token) for b in shown.actions] == [
        ("Approve", f"cq1.{pid}.a"), ("Reject", f"cq1.{pid}.r")
    ]  # fmt: skip
    assert shown.private

    decision = await app.community.decide(ADMIN, "Ada", GUILD, f"cq1.{pid}.a", admin=True)
    assert decision.reply.plain_text() == (
        f"Proposal #{pid} approved: added to Members' proposals (proposals) as "
        "which-port-does-acme-s-api-listen-on."
    )
    assert decision.notify is not None
    who, told = decision.notify
    assert who == MEMBER and told.private
    assert "Which port does Acme's API listen on?" in told.plain_text()
    assert "was approved" in told.plain_text()

    asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "proposals")
    assert asked.question.id == "discord:1/which-port-does-acme-s-api-listen-on"
    assert "Members' proposals" in asked.reply.plain_text()
    right = asked.round.correct_label(asked.question)
    assert asked.question.choices[asked.question.correct_index].text == "443"
    answered = await app.quiz.answer_choice(MEMBER, "Bo", asked.round.id, right, chat=GUILD)
    assert "+20" in answered.plain_text()  # a mid question, scored like a shipped one
    stored = await app.community.store.proposal(pid)
    assert stored is not None and stored.state is ProposalState.APPROVED
    assert stored.decided_by == "Ada" and stored.question_id == asked.question.id.split("/")[1]
    assert (await app.community.pending(ADMIN, GUILD, admin=True))[0].plain_text() == (
        "No proposals wait in this server."
    )


async def test_a_second_decision_says_it_was_already_decided(app: App) -> None:
    pid = await proposed(app)
    await app.community.decide(ADMIN, "Ada", GUILD, decision_token(pid, True), admin=True)
    for approve in (True, False):
        with pytest.raises(AlreadyDecided, match=f"Proposal #{pid} was already approved by Ada"):
            await app.community.decide(
                ADMIN, "Eve", GUILD, decision_token(pid, approve), admin=True
            )
    own = app.community.library.community("discord:1")
    assert own is not None and len(own.questions) == 1


async def test_reject_tells_the_proposer_and_adds_nothing(app: App) -> None:
    pid = await proposed(app, chat=GROUP, who=UserRef(Platform.TELEGRAM, "7"))
    decision = await app.community.decide(
        UserRef(Platform.TELEGRAM, "1"), "Ada", GROUP, decision_token(pid, False), admin=True
    )
    assert decision.reply.plain_text() == f"Proposal #{pid} rejected."
    assert decision.notify is not None
    assert decision.notify[0] == UserRef(Platform.TELEGRAM, "7")
    assert "in this group" in decision.notify[1].plain_text()
    assert app.community.library.community("telegram:-100") is None
    with pytest.raises(AlreadyDecided, match="already rejected by Ada"):
        await app.community.decide(ADMIN, "Ada", GROUP, decision_token(pid, True), admin=True)


async def test_a_proposal_may_name_a_topic_of_the_community(app: App) -> None:
    await app.community.import_file(
        ADMIN, "Ada", GUILD, admin=True, filename="a.toml", data=community_file()
    )
    pid = await proposed(app, topic="Acme-Stack")
    decision = await app.community.decide(ADMIN, "Ada", GUILD, f"cq1.{pid}.a", admin=True)
    assert "added to Acme stack (acme-stack)" in decision.reply.plain_text()
    own = app.community.library.community("discord:1")
    assert own is not None
    assert [q.id.split("/")[1] for q in own.questions] == [
        "jobs-one", "jobs-two", "which-port-does-acme-s-api-listen-on"
    ]  # fmt: skip
    _, data = await app.community.export(ADMIN, GUILD, admin=True)
    assert b'id = "which-port-does-acme-s-api-listen-on"' in data


async def test_ids_made_from_prompts_stay_unique(app: App) -> None:
    first = await proposed(app)
    second = await proposed(app)
    for pid in (first, second):
        await app.community.decide(ADMIN, "Ada", GUILD, f"cq1.{pid}.a", admin=True)
    own = app.community.library.community("discord:1")
    assert own is not None
    assert [q.id.split("/")[1] for q in own.questions] == [
        "which-port-does-acme-s-api-listen-on", "which-port-does-acme-s-api-listen-on-2"
    ]  # fmt: skip
    assert local_id_for("Что такое GIL?", set()) == "gil"
    assert local_id_for("Что?", set()) == "proposal"
    assert local_id_for("x" * 90, {"x" * 40}) == "x" * 40 + "-2"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": "   "}, "The prompt is empty."),
        ({"options": ("8080", "", "22", "25")}, "The option B is empty."),
        ({"explanation": ""}, "The explanation is empty."),
        ({"options": ("8080", "x" * 120, "22", "25")},
         "The option B is 120 characters; the limit is 80."),
        ({"options": ("8080", "443", "443", "25")}, "Two options have the same text"),
        ({"right": 4}, "Say which option is right with a letter from A to D."),
        ({"options": ("8080", "443", "22")}, "A proposal needs exactly 4 options."),
        ({"prompt": "Ask @here?"}, "'prompt' contains '@here', which could ping people"),
        ({"explanation": "See http://acme.dev"}, "'explanation' has a link that is not https"),
        ({"topic": "nope"}, "The topic 'nope' is not one of your community's."),
    ],
)  # fmt: skip
async def test_a_bad_proposal_is_refused_and_nothing_stored(
    app: App, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(QuizError) as caught:
        await app.community.propose(MEMBER, "Bo", GUILD, proposal(**changes))
    assert caught.value.message.startswith("Nothing was sent to the admins:")
    assert message in caught.value.message
    assert await app.community.store.pending_count("discord:1") == 0


async def test_every_empty_field_is_named_at_once(app: App) -> None:
    with pytest.raises(QuizError) as caught:
        await app.community.propose(MEMBER, "Bo", GUILD, proposal(
            prompt="", options=("", "", "", ""), explanation=" "
        ))  # fmt: skip
    lines = caught.value.message.splitlines()[1:]
    assert lines == [
        "• The prompt is empty.", "• The option A is empty.", "• The option B is empty.",
        "• The option C is empty.", "• The option D is empty.", "• The explanation is empty.",
    ]  # fmt: skip


async def test_a_person_may_have_a_few_proposals_waiting(app: App) -> None:
    for n in range(MAX_PENDING_PER_PERSON):
        await proposed(app, prompt=f"Question number {n}?")
    with pytest.raises(QuizError, match="You have 5 proposals waiting already"):
        await app.community.propose(MEMBER, "Bo", GUILD, proposal())
    await proposed(app, who=ADMIN)  # someone else still may
    assert await app.community.store.pending_count("discord:1") == MAX_PENDING_PER_PERSON + 1


async def test_deciding_takes_an_admin_of_that_community_and_a_real_button(app: App) -> None:
    pid = await proposed(app)
    with pytest.raises(NotAllowed, match="Manage Server permission can approve or reject"):
        await app.community.decide(MEMBER, "Bo", GUILD, f"cq1.{pid}.a", admin=False)
    with pytest.raises(QuizError, match="not one of this community's"):
        await app.community.decide(ADMIN, "Ada", OTHER, f"cq1.{pid}.a", admin=True)
    with pytest.raises(QuizError, match="not one of this community's"):
        await app.community.decide(ADMIN, "Ada", GUILD, "cq1.999.a", admin=True)
    for forged in ("cq1.1.x", "cq1.0.a", "cq1.01.a", f"cq1.{pid}.a\n", "a1.abcdef.A", "", "cq1."):
        with pytest.raises(QuizError, match="not valid any more"):
            await app.community.decide(ADMIN, "Ada", GUILD, forged, admin=True)
    stored = await app.community.store.proposal(pid)
    assert stored is not None and stored.state is ProposalState.PENDING
    assert app.community.library.community("discord:1") is None


async def test_the_one_line_form() -> None:
    fields = parse_proposal_line(
        ' "What is 2 + 2?" | 3 | "4" | 5 | 22 | b | Basic arithmetic. | acme-stack '
    )
    assert fields.prompt == "What is 2 + 2?"
    assert fields.options == ("3", "4", "5", "22")
    assert fields.right == 1 and fields.explanation == "Basic arithmetic."
    assert fields.topic == "acme-stack"
    assert parse_proposal_line("p | a | b | c | d | 4 | why").right == 3
    assert parse_proposal_line("p | a | b | c | d | E | why").right == -1
    with pytest.raises(QuizError, match="Propose a question in one line"):
        parse_proposal_line("just a prompt | a | b")
    assert decode_decision("cq1.12.r") is not None


def test_control_characters_are_dropped_but_line_ends_and_tabs_kept() -> None:
    """PostgreSQL stores no NUL in text: a proposal carrying one would fail there only."""
    fields = ProposalFields(
        "Wh\x00at does\x07 this\r\nprint?\t", ("a\x00", "b", "c", "d"), 1, "Be\x1bcause", "x\x00y"
    )
    got = cleaned(fields)
    assert got.prompt == "What does this\nprint?"
    assert got.options == ("a", "b", "c", "d")
    assert (got.explanation, got.topic) == ("Because", "xy")
