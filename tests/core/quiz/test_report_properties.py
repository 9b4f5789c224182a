"""Property-based: the report button's token parser and the console's `/report` arguments take
anything a forged client or a person types, and answer with a report, a clear refusal, or
(for the parser) nothing; never another exception, never a report the input did not ask for.
The service part runs against memory and a SQLite file."""

from __future__ import annotations

import asyncio
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.quiz.reports import NOTE_MAX, Filed, Reason, clean_note, parse_report_args
from bot.core.quiz.tokens import ReportToken, decode_report, report_token
from tests.core.properties import (
    ANY_TEXT,
    PROPERTIES,
    THROUGH_SERVICES,
    attempt,
    attempt_async,
    clear_refusal,
    sendable,
)

ROUND_ID = st.from_regex(r"[A-Za-z0-9_-]{6,24}", fullmatch=True)
WORD = st.sampled_from([*Reason, "skip", "WRONG", "nope", ""])
LOWER_WORD = st.sampled_from([*Reason, "skip", "nope"])  # a word a token can carry
REASON_WORDS = st.one_of(
    st.sampled_from([r.value for r in Reason]),
    st.sampled_from([r.value.upper() for r in Reason]),
    ANY_TEXT,
)


def without_surrogates(text: str) -> str:
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)


def report_tokens() -> st.SearchStrategy[str]:
    """Forged, truncated, padded and mangled report tokens, and well-formed ones."""
    good = st.builds(report_token, ROUND_ID, st.none() | WORD.filter(bool))
    return st.one_of(
        ANY_TEXT,
        st.from_regex(r"r[0-9]{1,2}\.[^\s]{0,80}", fullmatch=True),
        good,
        st.builds(lambda t, extra: t + extra, good, ANY_TEXT),
        st.builds(lambda t, n: t[:n], good, st.integers(0, 40)),
    )


@PROPERTIES
@given(token=st.one_of(report_tokens(), st.integers(), st.none(), st.binary()))
def test_decode_report_reads_one_spelling_or_nothing(token: object) -> None:
    decoded = decode_report(token)
    if decoded is None:
        return
    assert isinstance(token, str) and len(token.encode()) <= 64
    assert report_token(decoded.round_id, decoded.word) == token  # one spelling only
    assert decoded.word is None or (decoded.word.isascii() and decoded.word.isalpha())


@PROPERTIES
@given(round_id=ROUND_ID, word=st.none() | LOWER_WORD, tail=st.sampled_from("\n\r \t\x00."))
def test_report_tokens_round_trip_fit_callback_data_and_nothing_trails(
    round_id: str, word: str | None, tail: str
) -> None:
    token = report_token(round_id, word)
    assert decode_report(token) == ReportToken(round_id, word)
    assert len(token.encode()) <= 64  # Telegram's callback_data
    assert decode_report(token + tail) is None


@PROPERTIES
@given(words=st.lists(st.one_of(REASON_WORDS, ANY_TEXT), max_size=8))
@example(words=["wr\ud800ong", "a\udfff note"])  # a lone surrogate is no part of a word
@example(words=["\ud800"])  # the refusal quoted it, which no terminal or platform prints
def test_report_arguments_give_a_reason_and_a_clean_note_or_a_clear_refusal(
    words: list[str],
) -> None:
    parsed = attempt(lambda: parse_report_args(words))
    assert sendable(parsed)
    if isinstance(parsed, QuizError):
        assert clear_refusal(parsed) and "I don't know the reason" in parsed.message
        assert words and without_surrogates(words[0]).strip().casefold() not in set(Reason)
        return
    reason, note = parsed
    if not words:
        assert (reason, note) == (None, "")
        return
    assert reason == Reason(without_surrogates(words[0]).strip().casefold())
    assert note == clean_note(" ".join(words[1:]))
    for ch in note:  # nothing an operator's terminal would act on
        assert ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf"}, repr(ch)


@THROUGH_SERVICES
@given(data=st.data(), name=ANY_TEXT, note=st.one_of(ANY_TEXT, st.text(min_size=490, max_size=520)))
def test_any_report_button_or_note_is_filed_once_or_refused_clearly(
    runner: asyncio.Runner, module_app: App, data: st.DataObject, name: str, note: str
) -> None:
    group = ChatRef(Platform.TELEGRAM, "-300", "-300")
    asker = UserRef(Platform.TELEGRAM, "1")
    asked = runner.run(module_app.quiz.ask(asker, "Ada", group, question_id="beta-two"))
    real = st.builds(report_token, st.just(asked.round.id), st.none() | WORD.filter(bool))
    token = data.draw(st.one_of(report_tokens(), real))
    user = UserRef(Platform.TELEGRAM, str(data.draw(st.integers(2, 10**9))))
    reports = module_app.reports

    pressed = runner.run(attempt_async(reports.press(user, name, token)))
    if isinstance(pressed, QuizError):
        assert clear_refusal(pressed)
    decoded = decode_report(token)
    if isinstance(pressed, Filed):
        assert decoded is not None and decoded.round_id == asked.round.id
        assert pressed.report.question_id == "beta-two"  # from the round, never the button
    filed = runner.run(attempt_async(reports.file(user, name, asked.round.id, "typo", note)))
    if isinstance(filed, QuizError):
        assert clear_refusal(filed)
        assert len(clean_note(note)) > NOTE_MAX or "already reported" in filed.message
    else:
        assert filed.report.note == clean_note(note) and len(filed.report.note) <= NOTE_MAX


def test_a_note_keeps_no_lone_surrogate() -> None:
    """A JSON escape can carry one (Telegram's text is JSON); SQLite and PostgreSQL cannot
    store it, so filing such a note failed with a traceback instead of being filed."""
    assert clean_note("wrong \ud800answer\udfff") == "wrong answer"


@THROUGH_SERVICES
@given(question_id=st.one_of(ANY_TEXT, st.just("beta-two")), note=ANY_TEXT)
@example(question_id="beta-two\udcff", note="fixed \udce9")  # argv's bytes that are not UTF-8
@example(question_id="\ud800", note="")
def test_resolving_any_question_id_closes_its_reports_or_refuses_clearly(
    runner: asyncio.Runner, module_app: App, question_id: str, note: str
) -> None:
    """`stackprep questions resolve ID --note ...`: argv holds a lone surrogate for each byte
    that is not UTF-8; binding it failed the command with a traceback."""
    group = ChatRef(Platform.TELEGRAM, "-301", "-301")
    reporter = UserRef(Platform.TELEGRAM, "2")
    asked = runner.run(module_app.quiz.ask(reporter, "Ada", group, question_id="beta-two"))
    runner.run(attempt_async(module_app.reports.file(reporter, "Ada", asked.round.id, "typo")))
    closed = runner.run(attempt_async(module_app.reports.resolve(question_id, note)))
    if isinstance(closed, QuizError):
        assert clear_refusal(closed) and sendable(closed)
        assert without_surrogates(question_id).strip() != "beta-two"
        return
    assert closed >= 1 and without_surrogates(question_id).strip() == "beta-two"
    stored = runner.run(module_app.reports.store.reports(open_only=False))
    mine = [r for r in stored if r.question_id == "beta-two"]
    assert all(r.resolved_at is not None for r in mine)  # none left open
    assert clean_note(note) in {r.resolution for r in mine}  # the note kept, surrogates gone
