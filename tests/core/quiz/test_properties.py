"""Property-based: whatever a person or a forged client sends the quiz (button tokens, command
words, display names), the answer is a result or a QuizError with a message for them, never
another exception. Runs against memory and a SQLite file (a lone surrogate in a name cannot be
stored there: it must be cleaned before)."""

from __future__ import annotations

import asyncio
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.core.common.errors import InvalidAnswer, QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.quiz.service import Asked
from bot.core.quiz.tokens import AnswerToken, answer_token, decode, next_token
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
USERS = st.builds(
    UserRef, st.sampled_from(list(Platform)), st.from_regex(r"[0-9]{1,12}", fullmatch=True)
)
CHATS = st.builds(
    ChatRef,
    st.sampled_from(list(Platform)),
    st.from_regex(r"-?[0-9]{1,13}", fullmatch=True),
    st.none() | st.from_regex(r"-?[0-9]{1,13}", fullmatch=True),
)
TG_USER, TG_DM = UserRef(Platform.TELEGRAM, "7"), ChatRef(Platform.TELEGRAM, "7")
TG_GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
WORDS = st.one_of(
    ANY_TEXT,
    st.sampled_from(["week", "all", "ALL-TIME", "global", "here", "alpha", "beta", "1", "mid"]),
)


def tokens(real: list[str]) -> st.SearchStrategy[str]:
    """Forged, truncated, padded and mangled tokens, and real ones pressed as they are."""
    sample = st.sampled_from(real)
    return st.one_of(
        ANY_TEXT,
        st.from_regex(r"[anp][0-9]{1,2}\.[^\s]{0,70}", fullmatch=True),
        st.builds(lambda r, label: f"a1.{r}.{label}", ROUND_ID, st.sampled_from("ABCDEa")),
        st.builds(lambda t, d: f"n1.{t}.{d}", ANY_TEXT, st.integers(-2, 9)),
        sample,
        st.builds(lambda t, extra: t + extra, sample, ANY_TEXT),
        st.builds(lambda t, extra: extra + t, sample, ANY_TEXT),
        st.builds(lambda t, n: t[:n], sample, st.integers(0, 30)),
    )


@pytest.fixture(scope="module")
def real_tokens(runner: asyncio.Runner, module_app: App) -> list[str]:
    """The buttons of a question open in one group, and a "next question" button."""
    group = ChatRef(Platform.TELEGRAM, "-100", "-100")
    asked = runner.run(
        module_app.quiz.ask(UserRef(Platform.TELEGRAM, "1"), "Ada", group, "beta", "junior")
    )
    return [b.token for b in asked.reply.choices] + [next_token("alpha", 2)]


@PROPERTIES
@given(token=st.one_of(ANY_TEXT, st.integers(), st.none(), st.binary()))
def test_decode_answers_a_token_or_says_no_longer_open(token: object) -> None:
    decoded = attempt(lambda: decode(token))
    if isinstance(decoded, QuizError):
        assert isinstance(decoded, InvalidAnswer) and clear_refusal(decoded)
        return
    assert isinstance(token, str)
    if isinstance(decoded, AnswerToken):
        assert answer_token(decoded.round_id, decoded.label) == token  # one spelling only
    else:
        assert next_token(decoded.topic, decoded.difficulty) == token


@PROPERTIES
@given(round_id=ROUND_ID, label=st.sampled_from("ABCD"), tail=st.sampled_from("\n\r \t\x00"))
def test_tokens_round_trip_and_nothing_may_trail_them(round_id: str, label: str, tail: str) -> None:
    token = answer_token(round_id, label)
    assert decode(token) == AnswerToken(round_id, label)
    assert len(token.encode()) <= 64
    with pytest.raises(InvalidAnswer):
        decode(token + tail)


@THROUGH_SERVICES
@given(data=st.data(), user=USERS, name=ANY_TEXT, chat=CHATS)
def test_any_button_press_is_answered_or_refused_clearly(
    runner: asyncio.Runner,
    module_app: App,
    real_tokens: list[str],
    data: st.DataObject,
    user: UserRef,
    name: str,
    chat: ChatRef,
) -> None:
    token = data.draw(tokens(real_tokens))
    outcome = runner.run(attempt_async(module_app.quiz.press(user, name, chat, token)))
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome)
    else:
        assert isinstance(outcome, Reply | Asked)


@THROUGH_SERVICES
@given(user=USERS, name=ANY_TEXT, chat=CHATS, topic=st.none() | WORDS, level=st.none() | WORDS)
@example(user=TG_USER, name="Ada", chat=TG_DM, topic="alpha\ud800", level=None)  # Telegram's
@example(user=TG_USER, name="Ada", chat=TG_DM, topic="\udcffzz", level="mid\ud800")  # argv's
def test_question_with_any_words_asks_or_refuses_clearly(
    runner: asyncio.Runner,
    module_app: App,
    user: UserRef,
    name: str,
    chat: ChatRef,
    topic: str | None,
    level: str | None,
) -> None:
    outcome = runner.run(attempt_async(module_app.quiz.ask(user, name, chat, topic, level)))
    assert sendable(outcome)  # a lone surrogate typed is not echoed back: no platform sends it
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome)
    else:
        assert outcome.round.chat == chat
    if topic == "alpha\ud800":  # the surrogate goes, the topic typed is kept
        assert not isinstance(outcome, QuizError) and outcome.question.topic == "alpha"


@THROUGH_SERVICES
@given(user=USERS, name=ANY_TEXT, chat=CHATS, period=st.none() | WORDS, scope=st.none() | WORDS)
@example(user=TG_USER, name="Ada", chat=TG_GROUP, period="w\ud800eek", scope="\udfff")
def test_leaderboard_and_score_with_any_words_and_names(
    runner: asyncio.Runner,
    module_app: App,
    real_tokens: list[str],
    user: UserRef,
    name: str,
    chat: ChatRef,
    period: str | None,
    scope: str | None,
) -> None:
    quiz = module_app.quiz
    group = ChatRef(Platform.TELEGRAM, "-100", "-100")

    async def boards() -> list[Reply | QuizError]:
        for token in real_tokens[:4]:  # this name on the group's board (if the answer is right)
            await attempt_async(quiz.press(user, name, group, token))
        shown: list[Reply | QuizError] = [await quiz.score(user, name)]
        for where in (chat, group):
            shown.append(await attempt_async(quiz.leaderboard(user, name, where, period, scope)))
        return shown

    for outcome in runner.run(boards()):
        assert sendable(outcome)
        if isinstance(outcome, QuizError):
            assert clear_refusal(outcome)
            continue
        for ch in outcome.plain_text():  # no control character of a name reaches a platform
            assert ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cs"}, repr(ch)
            assert ch not in "\u202a\u202b\u202c\u202d\u202e\u200e\u200f\u061c", repr(ch)


@THROUGH_SERVICES
@given(poll=ANY_TEXT, option=st.integers(-1, 5))
@example(poll="\ud800", option=0)  # a poll id is the platform's JSON, as a note is
def test_a_vote_in_any_poll_is_counted_or_refused_clearly(
    runner: asyncio.Runner, module_app: App, poll: str, option: int
) -> None:
    vote = module_app.quiz.answer_poll(TG_USER, "Ada", Platform.TELEGRAM, poll, option)
    outcome = runner.run(attempt_async(vote))
    assert isinstance(outcome, InvalidAnswer)  # no poll of ours has such an id
