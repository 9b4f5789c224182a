"""The model grader wired by the composition root from `[grading]`, in a practice session, over
the loopback chat completions API: what the learner sees, what the model is sent (never who
asked), and a session that moved on while the model was thinking."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App, build
from bot.config import GradingConfig, Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice import texts as pt
from bot.core.practice.model_grading import FALLBACK_NOTES, Failure
from bot.core.practice.ports import Awaiting
from bot.core.practice.service import PracticeService, Step
from tests.fakes.app import make_config
from tests.fakes.clock import FixedClock
from tests.fakes.llm_api import ChatCompletionsServer

KEY = "sk-wired-9f8e7d6c5b4a"
USER_ID, NAME = "88231977", "Grace Hopperton"
GRACE = UserRef(Platform.TELEGRAM, USER_ID)
DM = ChatRef(Platform.TELEGRAM, USER_ID)


@pytest.fixture
def server() -> ChatCompletionsServer:
    return ChatCompletionsServer()


@pytest.fixture
async def app(
    server: ChatCompletionsServer, tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> AsyncIterator[App]:
    async with server.serving() as url:
        grading = GradingConfig(
            backend="llm", base_url=url, model="tiny", api_key=Secret(KEY), timeout_seconds=0.2
        )
        config = make_config(tmp_path, grading=grading)
        async with build(config, storage="memory", bank=bank, clock=clock) as opened:
            yield opened
        assert opened.model_client is not None and opened.model_client._session is None


async def open_question(practice: PracticeService) -> Step:
    """Start a session and answer its first (multiple-choice) question: an open one is next."""
    step = await practice.start(GRACE, NAME, DM)
    token = step.replies[-1].choices[0].token
    step = await practice.press(GRACE, NAME, token)
    assert step.awaiting is Awaiting.TEXT
    return step


async def current_question(practice: PracticeService) -> str:
    player = await practice.players.player(GRACE, NAME)
    session = await practice.store.active_session(player)
    assert session is not None
    return session.question_id


async def test_the_model_grades_and_is_sent_nothing_about_the_learner(
    app: App, server: ChatCompletionsServer
) -> None:
    await open_question(app.practice)
    question = app.bank.get(await current_question(app.practice))
    assert question is not None
    answer = "As far as I remember, the idea is that the thing reports this itself, so I use it."
    step = await app.practice.answer_text(GRACE, NAME, answer)
    text = step.replies[0].plain_text()
    total = len(question.key_points)
    assert f"Key points: {total} of {total} covered" in text
    assert "Graded by keywords" not in text and step.awaiting is Awaiting.RATING
    (seen,) = server.requests
    assert seen.headers["Authorization"] == f"Bearer {KEY}" and seen.body["model"] == "tiny"
    raw = json.dumps(seen.body, ensure_ascii=False)
    for private in (USER_ID, NAME, "Grace", "telegram", app.practice.store.__class__.__name__):
        assert private not in raw
    assert seen.payload["answer"] == answer


async def test_an_answer_with_lone_surrogates_is_sent_to_the_model_without_them(
    app: App, server: ChatCompletionsServer
) -> None:
    """Telegram's JSON can carry "\\ud800" in a message; the request to the model must encode
    (it failed the answer with a traceback), and the rest of the answer is what is graded."""
    await open_question(app.practice)
    answer = "As far as I remember, the idea is that the thing reports this itself, so I use it."
    step = await app.practice.answer_text(GRACE, NAME, f"\ud800{answer[:30]}\udfff{answer[30:]}")
    assert "Graded by keywords" not in step.replies[0].plain_text()
    assert step.awaiting is Awaiting.RATING
    (seen,) = server.requests
    assert seen.payload["answer"] == answer


async def test_a_slow_model_leaves_the_keyword_grade_and_one_line_saying_so(
    app: App, server: ChatCompletionsServer
) -> None:
    server.mode = "slow"
    await open_question(app.practice)
    step = await app.practice.answer_text(GRACE, NAME, "I think it has something to do with it.")
    text = step.replies[0].plain_text()
    assert text.count(FALLBACK_NOTES[Failure.TIMEOUT]) == 1 and step.awaiting is Awaiting.RATING
    step = await app.practice.rate(GRACE, NAME, 1)  # the session goes on
    assert step.awaiting is Awaiting.CHOICE


async def test_a_session_stopped_while_the_model_thinks_stays_stopped(
    app: App, server: ChatCompletionsServer
) -> None:
    server.mode = "slow"
    await open_question(app.practice)
    grading = asyncio.create_task(
        app.practice.answer_text(GRACE, NAME, "I think it has something to do with it.")
    )
    await server.arrived.wait()
    await app.practice.stop(GRACE, NAME)
    with pytest.raises(QuizError, match=r"No practice session|earlier step") as err:
        await grading
    assert str(err.value) in {pt.NO_SESSION, pt.NOT_THIS_STEP}
    player = await app.practice.players.player(GRACE, NAME)
    assert await app.practice.store.active_session(player) is None


def test_keywords_by_default_and_no_http_client(tmp_path: Path, bank: QuestionBank) -> None:
    built = build(make_config(tmp_path), storage="memory", bank=bank)
    assert built.model_client is None and built.practice.grader.model is None
