"""Property-based: practice's buttons, typed answers, ratings, /remind and /plan arguments,
whatever they hold, give a step or a QuizError with a message, never another exception, and
nothing of the input that no platform could send back (memory and a SQLite file)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.core.common.errors import InvalidAnswer, QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.practice import texts as pt
from bot.core.practice.service import Step
from bot.core.practice.tokens import CHOICE_RE, OWN_WORDS_RE, RATING_RE
from tests.core.properties import (
    ANY_TEXT,
    PROPERTIES,
    THROUGH_SERVICES,
    clear_refusal,
    sendable,
)
from tests.fakes.people import ADA, DM

SESSION = st.from_regex(r"[A-Za-z0-9_-]{6,24}", fullmatch=True)
TOKENS = st.one_of(
    ANY_TEXT,
    st.builds(lambda s, label: f"p1.c.{s}.{label}", SESSION, st.sampled_from("ABCDE")),
    st.builds(lambda s, r: f"p1.r.{s}.{r}", SESSION, st.integers(-1, 9)),
    st.builds(lambda s: f"p1.o.{s}", SESSION),
    st.from_regex(r"p1\.[a-z]\.[^\s]{0,60}", fullmatch=True),
)
ARGS = st.lists(
    st.one_of(
        ANY_TEXT,
        st.sampled_from(["off", "08:30", "7h05", "Europe/Berlin", "berlin", "2027-01-30", "alpha"]),
    ),
    max_size=3,
)
GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")


@pytest.mark.parametrize("tail", ["\n", "\r\n", " ", "\x00"])
async def test_practice_tokens_must_be_whole(app: App, tail: str) -> None:
    step = await app.practice.start(ADA, "Ada", DM)
    choice = step.replies[-1].choices[0].token
    assert CHOICE_RE.match(choice)
    for pattern, token in ((CHOICE_RE, choice), (RATING_RE, "p1.r.abcdefgh.2"),
                           (OWN_WORDS_RE, "p1.o.abcdefgh")):  # fmt: skip
        assert pattern.match(token) and not pattern.match(token + tail)
    with pytest.raises(InvalidAnswer):
        await app.practice.press(ADA, "Ada", choice + tail)


@PROPERTIES
@given(ANY_TEXT)
def test_a_rating_is_one_to_four_or_nothing(text: str) -> None:
    rating = pt.parse_rating(text)
    assert rating is None or rating in {1, 2, 3, 4}


def _actions() -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(st.just("start"), st.none() | ANY_TEXT | st.sampled_from(["alpha", "beta"])),
        st.tuples(st.just("press"), TOKENS),
        st.tuples(st.just("text"), ANY_TEXT),
        st.tuples(st.just("rate"), st.integers(-3, 7)),
        st.tuples(st.just("remind"), ARGS),
        st.tuples(st.just("remind_group"), ARGS),
        st.tuples(st.just("plan"), ARGS),
        st.tuples(st.just("stop"), st.none()),
        st.tuples(st.just("resume"), st.none()),
    )


@THROUGH_SERVICES
@given(
    user_id=st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    name=ANY_TEXT,
    actions=st.lists(_actions(), min_size=1, max_size=6),
)
@example(  # lone surrogates (a JSON escape in a Telegram message) go; the rest is kept
    user_id="9999999",  # outside the strategy: no other example is this person
    name="Ada",
    actions=[
        ("start", "alpha\ud800"),
        ("remind", ["08:30", "Europe/\udfffBerlin"]),
        ("plan", ["2027-01-30\ud800", "alpha\ud800,\udfff"]),
        ("press", "\ud800"),
        ("text", "\ud800 an answer in my own words \udfff"),
    ],
)
def test_any_sequence_of_practice_input_steps_or_refuses_clearly(
    runner: asyncio.Runner,
    module_app: App,
    user_id: str,
    name: str,
    actions: list[tuple[str, Any]],
) -> None:
    practice = module_app.practice
    user = UserRef(Platform.TELEGRAM, user_id)
    dm = ChatRef(Platform.TELEGRAM, user_id)

    async def run(kind: str, arg: Any) -> Step | Reply:
        match kind:
            case "start":
                return await practice.start(user, name, dm, arg)
            case "press":
                return await practice.press(user, name, arg)
            case "text":
                return await practice.answer_text(user, name, arg)
            case "rate":
                return await practice.rate(user, name, arg)
            case "remind":
                return await practice.remind(user, name, dm, arg)
            case "remind_group":
                return await practice.remind(user, name, GROUP, arg)
            case "plan":
                return await practice.plan(user, name, dm, arg)
            case "stop":
                return await practice.stop(user, name)
            case _:
                return await practice.resume(user, name)

    async def session() -> list[Step | Reply | QuizError]:
        outcomes: list[Step | Reply | QuizError] = []
        for kind, arg in actions:
            try:
                outcomes.append(await run(kind, arg))
            except QuizError as error:
                outcomes.append(error)
        return outcomes

    outcomes = runner.run(session())
    for outcome in outcomes:
        assert sendable(outcome), outcome
        if isinstance(outcome, QuizError):
            assert clear_refusal(outcome)
        else:
            assert isinstance(outcome, Step | Reply)
    if user_id == "9999999":  # the example: each step taken as if the surrogates were not there
        assert not any(isinstance(o, QuizError) for o in outcomes[:3]), outcomes
        player = runner.run(practice.players.player(user, name))
        reminder = runner.run(practice.store.reminder(player))
        plan = runner.run(practice.store.plan(player))
        assert reminder is not None and reminder.timezone == "Europe/Berlin"
        assert plan is not None and plan.topics == ("alpha",)
