"""Property-based: whatever an admin uploads (any bytes, a valid file with anything spliced in)
or a member proposes (any fields, any one-line form), the answer is an import or a QuizError
with a message for them, never another exception, and a refused one changes nothing. Runs
against memory and a SQLite file."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.core.bank.questions import ID_RE, parse_topic_data
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.community import (
    FileRejected,
    ProposalFields,
    decision_token,
    decode_decision,
    parse_proposal_line,
)
from bot.core.community.files import MAX_FILE_BYTES, export_toml, to_data
from bot.core.community.proposals import cleaned, local_id_for, problems, question_data
from bot.core.community.texts import MESSAGE_MAX
from tests.core.properties import (
    ANY_TEXT,
    PROPERTIES,
    THROUGH_SERVICES,
    attempt,
    attempt_async,
    clear_refusal,
    sendable,
)
from tests.fakes.community import community_file

GUILD = ChatRef(Platform.DISCORD, "10", "77")
ADMIN = UserRef(Platform.DISCORD, "100")
VALID = community_file("prop-one", "prop-two")
SPLICES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x00", b"\xff\xfe", b'"', b"[[questions]]\n", b"\ncorrect = true\n",
                     b"@everyone", b"<@&1>", b"http://x.io", b'\nid = "prop-one"\n',
                     b"\ndifficulty = 7\n", "\ufeff".encode(), b"\\ud800", b'"\\udfff"']),
)  # fmt: skip
UPLOADS = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda at, bit: VALID[:at] + bit + VALID[at:], st.integers(0, len(VALID)), SPLICES),
    st.builds(lambda at: VALID[:at], st.integers(0, len(VALID))),
)


def own(app: App) -> object:
    return app.community.library.community("discord:77")


# TOML's escape of a lone surrogate (tomllib refuses it: not a Unicode scalar value), in a
# file named with one (a Telegram document's name is JSON)
ESCAPED = VALID.replace(b'title = "Acme stack"', b'title = "Acme \\ud800stack"')


@THROUGH_SERVICES
@given(data=UPLOADS, name=ANY_TEXT)
@example(data=ESCAPED, name="acme\udcff.toml")
def test_any_upload_is_imported_whole_or_refused_with_nothing_changed(
    runner: asyncio.Runner, module_app: App, data: bytes, name: str
) -> None:
    before = own(module_app)
    stored = runner.run(module_app.community.store.all_topics())
    outcome = runner.run(
        attempt_async(
            module_app.community.import_file(
                ADMIN, "Ada", GUILD, admin=True, filename=name, data=data
            )
        )
    )
    assert sendable(outcome)
    if data == ESCAPED:  # one clear problem of this file, named as the person can read it
        assert isinstance(outcome, FileRejected) and len(outcome.problems) == 1
        assert outcome.problems[0].startswith("acme.toml: not valid TOML: ")
        assert "line 2" in outcome.problems[0]
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome) and len(outcome.message) <= MESSAGE_MAX
        assert isinstance(outcome, FileRejected) and outcome.problems
        assert own(module_app) == before
        assert runner.run(module_app.community.store.all_topics()) == stored
    else:
        assert outcome.plain_text().startswith("Imported ")
        after = own(module_app)
        assert after is not None and after.questions
        assert all(q.id.startswith("discord:77/") for q in after.questions)


@settings(max_examples=10, deadline=None)
@given(data=st.builds(lambda head, tail: head + b"#" * MAX_FILE_BYTES + tail, UPLOADS,
                      st.binary(min_size=1, max_size=8)))  # fmt: skip
def test_a_file_over_the_limit_is_refused_before_it_is_read(
    runner: asyncio.Runner, module_app: App, data: bytes
) -> None:
    outcome = runner.run(
        attempt_async(
            module_app.community.import_file(
                ADMIN, "Ada", GUILD, admin=True, filename="x.toml", data=data
            )
        )
    )
    assert isinstance(outcome, FileRejected) and "the limit is 1 MB" in outcome.message


FIELDS = st.builds(
    ProposalFields,
    st.one_of(ANY_TEXT, st.just("What is a GIL?")),
    st.tuples(*(st.one_of(ANY_TEXT, st.sampled_from(["yes", "no", "maybe", "x" * 81]))
                for _ in range(4))),
    st.integers(-3, 6),
    st.one_of(ANY_TEXT, st.just("Because.")),
    st.one_of(st.none(), ANY_TEXT, st.just("proposals")),
)  # fmt: skip


# a valid proposal with lone surrogates in every field (JSON escapes in Telegram messages)
SURROGATES = ProposalFields(
    "What\ud800 is a GIL?", ("yes\udfff", "no", "\ud800maybe", "never"), 0,
    "Because\ud800.", "proposals\udfff",
)  # fmt: skip


@PROPERTIES
@given(fields=FIELDS)
@example(fields=SURROGATES)
def test_any_proposal_is_a_valid_question_or_named_problems(fields: ProposalFields) -> None:
    clean = cleaned(fields)
    assert sendable(clean)  # storable, and sendable to the admins who decide
    if fields == SURROGATES:  # the surrogates go, every word typed stays
        assert clean == ProposalFields(
            "What is a GIL?", ("yes", "no", "maybe", "never"), 0, "Because.", "proposals"
        )
    found = problems(clean, {"proposals"})
    if found:
        assert all(isinstance(p, str) and p.strip() for p in found)
        return
    parsed = parse_topic_data(
        {"topic": "proposals", "title": "P", "questions": [question_data(clean, "p-one")]},
        "p.toml", community=True,
    )  # fmt: skip
    assert parsed.issues == () and len(parsed.questions) == 1
    (question,) = parsed.questions
    assert question.choices[question.correct_index].text == clean.options[clean.right]
    stored = json.loads(json.dumps(to_data(question)))
    again = parse_topic_data(
        {"topic": "proposals", "title": "P", "questions": [stored]}, "p.toml", community=True
    )
    assert again.questions == (question,)  # what is stored reads back as the same question
    exported = export_toml(parsed.topic, [question])  # type: ignore[arg-type]
    assert exported.decode("utf-8")


@THROUGH_SERVICES
@given(fields=FIELDS)
@example(fields=SURROGATES)
@example(fields=replace(SURROGATES, topic=None))  # binding one failed it with a traceback
def test_any_proposal_through_the_service_is_stored_or_refused(
    runner: asyncio.Runner, module_app: App, fields: ProposalFields
) -> None:
    user = UserRef(Platform.DISCORD, "555")
    outcome = runner.run(attempt_async(module_app.community.propose(user, "Eve", GUILD, fields)))
    assert sendable(outcome)
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome)
    else:
        assert outcome.private and "waits for the admins" in outcome.plain_text()
        (waiting,) = runner.run(module_app.community.store.pending("discord:77", 1))
        assert waiting.fields == cleaned(fields)
        runner.run(module_app.community.store.reject(waiting.id, "t", waiting.created_at))


@PROPERTIES
@given(text=st.one_of(ANY_TEXT, st.lists(ANY_TEXT, max_size=9).map("|".join)))
def test_any_one_line_proposal_parses_or_shows_the_form(text: str) -> None:
    outcome = attempt(lambda: parse_proposal_line(text))
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome) and "Propose a question in one line" in outcome.message
    else:
        assert len(outcome.options) == 4 and -1 <= outcome.right <= 3


@PROPERTIES
@given(prompt=ANY_TEXT, taken=st.sets(st.from_regex(r"[a-z0-9][a-z0-9-]{2,20}", fullmatch=True)))
def test_an_id_made_from_any_prompt_is_a_valid_unused_id(prompt: str, taken: set[str]) -> None:
    made = local_id_for(prompt, taken | {local_id_for(prompt, set())})
    assert ID_RE.match(made) and made not in taken


@PROPERTIES
@given(token=st.one_of(ANY_TEXT, st.from_regex(r"cq1\.[0-9]{0,20}\.[a-z]?\n?", fullmatch=True)))
def test_any_decision_token_decodes_to_itself_or_nothing(token: str) -> None:
    decoded = decode_decision(token)
    if decoded is not None:
        assert decision_token(decoded.proposal_id, decoded.approve) == token
        assert len(token.encode()) <= 64
