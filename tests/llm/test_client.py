"""The model grader's HTTP client against a loopback chat completions API (tests/fakes/llm_api.py):
what it sends, and every way a call can fail, each one typed."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.secret import Secret
from bot.core.practice.model_grading import Failure, ModelGradingFailed, ModelRequest
from bot.llm import ChatCompletionsGrader
from bot.llm.client import endpoint
from tests.fakes.llm_api import ChatCompletionsServer

KEY = "sk-Test-Key-0123456789abcdef"
ANSWER = "The built-in len() returns how many items there are; it calls the __len__ method."


@pytest.fixture
def request_(bank: QuestionBank) -> ModelRequest:
    question = bank.get("alpha-one")
    assert question is not None
    return ModelRequest.of(question, ANSWER)


@pytest.fixture
def server() -> ChatCompletionsServer:
    return ChatCompletionsServer()


@pytest.fixture
async def client(server: ChatCompletionsServer) -> AsyncIterator[ChatCompletionsGrader]:
    async with server.serving() as url:
        grader = ChatCompletionsGrader(url, "tiny-model", Secret(KEY), timeout=0.3)
        try:
            yield grader
        finally:
            await grader.close()


async def failure_of(client: ChatCompletionsGrader, request: ModelRequest) -> ModelGradingFailed:
    with pytest.raises(ModelGradingFailed) as failed:
        await client.assess(request)
    return failed.value


async def test_a_verdict_comes_back_and_only_the_question_and_answer_are_sent(
    client: ChatCompletionsGrader, server: ChatCompletionsServer, request_: ModelRequest
) -> None:
    verdict = await client.assess(request_)
    assert [(p.point, p.hit) for p in verdict.points] == [
        ("len built-in", True), ("__len__ protocol", True),
    ]  # fmt: skip
    assert verdict.points[0].quote == "The built-in len() returns" and verdict.score == 0.95
    (seen,) = server.requests
    assert seen.headers["Authorization"] == f"Bearer {KEY}"
    assert seen.body["model"] == "tiny-model" and seen.body["temperature"] == 0
    assert seen.body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in seen.body["messages"]] == ["system", "user"]
    assert seen.payload == {
        "question": request_.prompt,
        "model_answer": request_.model_answer,
        "key_points": [{"id": 1, "point": "len built-in"}, {"id": 2, "point": "__len__ protocol"}],
        "answer": ANSWER,
    }


async def test_code_is_sent_with_a_question_that_has_some(
    client: ChatCompletionsGrader, server: ChatCompletionsServer, bank: QuestionBank
) -> None:
    question = bank.get("alpha-two")
    assert question is not None and question.code
    await client.assess(ModelRequest.of(question, "It prints [1, 2, 3]: the same list object."))
    assert server.requests[0].payload["code"] == question.code


async def test_a_slow_model_times_out(
    client: ChatCompletionsGrader, server: ChatCompletionsServer, request_: ModelRequest
) -> None:
    server.mode = "slow"
    failed = await failure_of(client, request_)
    assert failed.failure is Failure.TIMEOUT and failed.detail == "no reply within 0.3 s"


async def test_429_is_rate_limited_with_the_servers_retry_after(
    client: ChatCompletionsGrader, server: ChatCompletionsServer, request_: ModelRequest
) -> None:
    server.mode = "429"
    failed = await failure_of(client, request_)
    assert (failed.failure, failed.retry_after) == (Failure.RATE_LIMITED, 12.0)
    server.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"  # a date: no usable number
    assert (await failure_of(client, request_)).retry_after is None


@pytest.mark.parametrize(
    ("mode", "failure", "detail"),
    [
        ("500", Failure.HTTP_ERROR, "HTTP 500"),
        ("redirect", Failure.HTTP_ERROR, "HTTP 307"),  # never followed: the key would go along
        ("malformed", Failure.INVALID_REPLY, "not JSON"),
    ],
)
async def test_errors_and_bad_bodies_are_typed_failures(
    client: ChatCompletionsGrader,
    server: ChatCompletionsServer,
    request_: ModelRequest,
    mode: str,
    failure: Failure,
    detail: str,
) -> None:
    server.mode = mode
    failed = await failure_of(client, request_)
    assert (failed.failure, failed.detail) == (failure, detail)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("Sure! The answer is good.", "not JSON"),
        ('{"points": [], "grade": 1}', "key_points is not a list of 2"),  # the wrong schema
        (
            '{"key_points": [{"id": 1, "hit": true, "quote": "len() gives the size"},'
            ' {"id": 2, "hit": false, "quote": ""}], "misconceptions": [], "score": 0.5}',
            "key point 1: its quote is not in the answer",
        ),
        (
            '{"key_points": [{"id": 1, "hit": false}, {"id": 7, "hit": false}], "score": 0}',
            "a key point's id is unknown",
        ),
        (
            '{"key_points": [{"id": 1, "hit": false}, {"id": 2, "hit": false}], "score": "high"}',
            "score is not a number",
        ),
    ],
)
async def test_a_reply_that_does_not_validate_is_refused(
    client: ChatCompletionsGrader,
    server: ChatCompletionsServer,
    request_: ModelRequest,
    content: str,
    detail: str,
) -> None:
    server.mode, server.content = "content", content
    failed = await failure_of(client, request_)
    assert (failed.failure, failed.detail) == (Failure.INVALID_REPLY, detail)


async def test_a_refused_connection_is_an_http_error(request_: ModelRequest) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    grader = ChatCompletionsGrader(f"http://127.0.0.1:{port}/v1", "m", Secret(KEY), timeout=2)
    try:
        failed = await failure_of(grader, request_)
    finally:
        await grader.close()
    assert failed.failure is Failure.HTTP_ERROR and failed.detail.startswith("Client")


def test_the_endpoint_is_the_base_url_and_chat_completions() -> None:
    assert endpoint("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434/v1/chat/completions"
    assert endpoint("https://x/v1/chat/completions") == "https://x/v1/chat/completions"


async def test_the_key_shows_in_no_repr_error_or_log_line(
    client: ChatCompletionsGrader,
    server: ChatCompletionsServer,
    request_: ModelRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spellings = {KEY, KEY.lower(), KEY.upper(), quote(KEY), json.dumps(KEY)[1:-1]}
    caplog.set_level(logging.DEBUG)
    seen: list[str] = [repr(client), str(client)]
    for mode in ("ok", "429", "500", "redirect", "malformed", "slow"):
        server.mode = mode
        try:
            await client.assess(request_)
        except ModelGradingFailed as failed:
            seen += [str(failed), repr(failed), failed.detail]
    assert len(server.requests) == 6
    seen += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert not [s for s in seen if any(k in s for k in spellings)]
    assert all(s.headers["Authorization"] == f"Bearer {KEY}" for s in server.requests)
