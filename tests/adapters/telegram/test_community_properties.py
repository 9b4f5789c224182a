"""Property-based (hypothesis), through the real Application and handlers: whatever a member
types at each step of a proposal in their private chat, and whatever a decision button
carries, the answer is a step, a problem with the step again, the proposal's outcome or a
clear refusal: never the apology, never a logged error, and at most the one proposal."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.proposing import STEPS, Draft, fields, step_problems
from bot.adapters.telegram.sending import SendScheduler
from bot.app.bootstrap import App
from bot.core.bank.question_bank import load_bank
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.texts import APOLOGY
from tests.core.properties import ANY_TEXT, PROPERTIES
from tests.fakes.app import memory_app
from tests.fakes.paths import TEST_BANK
from tests.fakes.telegram_api import (
    DATE,
    GROUP_ID,
    TOKEN,
    UNPACED,
    FakeBotApi,
    Harness,
    chat,
    command,
    press,
    user,
)

THROUGH_TELEGRAM = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SCOPE = f"telegram:{GROUP_ID}"
_people = itertools.count(700_000)  # a new member per example (drafts and limits are per person)
_ids = itertools.count(900_000)
# what a member types at a step: anything, or what the steps take
STEP_TEXT = ANY_TEXT.filter(lambda t: t.strip() and not t.startswith("/")) | st.sampled_from(
    ["Which one?", "a\nb\nc\nd", "A) 1\nB) 2\nC) 3\nD) 3", "B", "e", "4", "Because.",
     "proposals", "@here", "<@123>", "http://x.org", "q | a | b | c | d | A | why", "x" * 1200]
)  # fmt: skip


@pytest.fixture
async def tg() -> AsyncIterator[tuple[Harness, App]]:
    app = memory_app(load_bank(TEST_BANK))
    api = FakeBotApi()
    application = build_application(
        TOKEN, request=api, get_updates_request=api, rate_limiter=SendScheduler(UNPACED)
    )
    adapter = TelegramAdapter(app.quiz, application, community=app.community)
    async with application:
        yield Harness(adapter, api, app.quiz), app


def text(words: str, person: int) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {"message_id": next(_ids), "date": DATE, "chat": chat(person),
                    "from": user(person), "text": words},
    }  # fmt: skip


@THROUGH_TELEGRAM
@given(steps=st.lists(STEP_TEXT, min_size=1, max_size=7))
async def test_any_answers_to_the_steps_get_a_clear_answer_each(
    tg: tuple[Harness, App], caplog: pytest.LogCaptureFixture, steps: list[str]
) -> None:
    harness, app = tg
    person = next(_people)
    before = await app.community.store.pending_count(SCOPE)
    await harness.send(command(f"/start propose{GROUP_ID}", chat_id=person, user_id=person))
    for step in steps:
        harness.api.clear()
        await harness.send(text(step, person))
        said = [str(c.params["text"]) for c in harness.api.sent("sendMessage")]
        assert said, step  # every message of a draft is answered (or the draft is over)
        assert APOLOGY not in said and not any("Traceback" in s for s in said)
        if said[-1].startswith(("Thanks!", "Nothing was sent")):
            break  # the proposal went out (or was refused whole): the draft is over
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await app.community.store.pending_count(SCOPE) - before in {0, 1}


@THROUGH_TELEGRAM
@given(rest=ANY_TEXT, private=st.booleans())
async def test_any_decision_button_gets_a_clear_alert(
    tg: tuple[Harness, App], caplog: pytest.LogCaptureFixture, rest: str, private: bool
) -> None:
    harness, _ = tg
    data = ("cq1." + rest).encode("utf-8", "replace")[:64].decode("utf-8", "ignore")
    harness.api.clear()
    chat_id = 4001 if private else GROUP_ID
    await harness.send(press(data, chat_id=chat_id, user_id=4001))
    (answer,) = harness.api.sent("answerCallbackQuery")
    assert answer.params["text"] and answer.params["text"] != APOLOGY
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@PROPERTIES
@given(step=st.sampled_from(STEPS), value=ANY_TEXT)
def test_a_step_is_judged_by_the_cores_validator_without_an_exception(
    step: str, value: str
) -> None:
    app = memory_app(load_bank(TEST_BANK))
    group = ChatRef(Platform.TELEGRAM, str(GROUP_ID), str(GROUP_ID))
    draft = Draft(group, "g", ("acme-stack",), 0.0)
    found = step_problems(app.community, draft, step, value)
    assert all(isinstance(p, str) and p for p in found)
    assert fields({step: value}) is not None
