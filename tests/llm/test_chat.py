"""Reading a model's reply (bot/llm/chat.py): strict, and for any input a verdict or the one
typed error, never anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.practice.model_grading import (
    Failure,
    Misstatement,
    ModelGradingFailed,
    ModelRequest,
    ModelVerdict,
    quoted,
)
from bot.llm.chat import MAX_REPLY_BYTES, parse_completion, parse_content, request_body

ANSWER = "Use len(xs): it calls the list's __len__ and returns the count."
REQUEST = ModelRequest(
    "Which built-in returns the number of items?", None, "len() calls __len__.",
    ("len built-in", "__len__ protocol"), ANSWER,
)  # fmt: skip


def completion(content: Any) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": content}}]}
    ).encode()


def verdict_json(**changes: Any) -> dict[str, Any]:
    verdict: dict[str, Any] = {
        "key_points": [
            {"id": 2, "hit": True, "quote": "it calls the list’s __LEN__"},
            {"id": 1, "hit": True, "quote": "Use   len(xs) ... returns the count"},
        ],
        "misconceptions": [],
        "score": 0.9,
    }
    return {**verdict, **changes}


def invalid(content: str) -> str:
    with pytest.raises(ModelGradingFailed) as failed:
        parse_content(content, REQUEST)
    assert failed.value.failure is Failure.INVALID_REPLY
    return failed.value.detail


def test_a_valid_verdict_in_any_order_with_loose_quoting() -> None:
    verdict = parse_completion(completion(json.dumps(verdict_json())), REQUEST)
    assert [(p.point, p.hit) for p in verdict.points] == [
        ("len built-in", True), ("__len__ protocol", True),
    ]  # fmt: skip
    assert verdict.score == 0.9 and verdict.misconceptions == ()


def test_a_fenced_reply_and_extra_fields_are_read() -> None:
    content = "```json\n" + json.dumps({**verdict_json(), "feedback": "Nice."}) + "\n```"
    assert parse_content(content, REQUEST).score == 0.9


def test_misconceptions_need_a_quote_in_the_answer_and_a_correction() -> None:
    wrong = {"quote": "returns the count", "correction": "It does, this one is right."}
    verdict = parse_content(json.dumps(verdict_json(misconceptions=[wrong])), REQUEST)
    assert verdict.misconceptions[0].correction == "It does, this one is right."
    made_up = {**wrong, "quote": "len() is slow"}
    assert invalid(json.dumps(verdict_json(misconceptions=[made_up]))) == (
        "a misconception's quote is not in the answer"
    )
    assert invalid(json.dumps(verdict_json(misconceptions=[{**wrong, "correction": " "}]))) == (
        "a misconception has no correction"
    )


@pytest.mark.parametrize(
    ("points", "detail"),
    [
        ([{"id": 1, "hit": False}], "key_points is not a list of 2"),
        ([{"id": 1, "hit": False}, {"id": 1, "hit": False}], "key point 1 is given twice"),
        ([{"id": True, "hit": False}, {"id": 2, "hit": False}], "a key point's id is unknown"),
        ([{"id": "1", "hit": False}, {"id": 2, "hit": False}], "a key point's id is unknown"),
        ([{"id": 1, "hit": "yes"}, {"id": 2, "hit": False}],
         "key point 1: hit is not true or false"),
        ([{"id": 1, "hit": True, "quote": "ok"}, {"id": 2, "hit": False}],
         "key point 1: its quote is not in the answer"),  # too short to be a quote
        ([{"id": 1, "hit": True}, {"id": 2, "hit": False}],
         "a quote is not a string of at most 600 characters"),
    ],
)  # fmt: skip
def test_key_points_are_checked_strictly(points: list[Any], detail: str) -> None:
    assert invalid(json.dumps(verdict_json(key_points=points))) == detail


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, 0.0), (1, 1.0), (1.0004, 1.0), (-0.0004, 0.0), (0.5, 0.5)],
)
def test_a_score_within_0_and_1_is_kept_and_a_hair_outside_clamped(
    score: float, expected: float
) -> None:
    assert parse_content(json.dumps(verdict_json(score=score)), REQUEST).score == expected


@pytest.mark.parametrize("score", ["0.5", True, None, 1.5, -1, 10**400, "NaN"])
def test_any_other_score_is_refused(score: Any) -> None:
    text = json.dumps(verdict_json(score=score)) if score != 10**400 else (
        json.dumps(verdict_json(score=0)).replace('"score": 0', f'"score": {10**400}')
    )  # fmt: skip
    assert invalid(text).startswith("score is not")


def test_nan_and_infinity_are_refused() -> None:
    for word in ("NaN", "Infinity", "-Infinity"):
        assert invalid(json.dumps(verdict_json(score=0)).replace('"score": 0', f'"score": {word}'))


def test_bodies_without_content_or_too_large_are_refused() -> None:
    for body in (b"{}", b"[]", b'{"choices": []}', completion(None), b"\xff\xfe\x00"):
        with pytest.raises(ModelGradingFailed):
            parse_completion(body, REQUEST)
    with pytest.raises(ModelGradingFailed, match="reply over"):
        parse_completion(b" " * (MAX_REPLY_BYTES + 1), REQUEST)


def test_quotes_must_really_occur() -> None:
    assert quoted("CALLS THE LIST'S __len__", ANSWER)
    assert quoted("“Use len(xs)”", ANSWER)
    assert quoted("Use len(xs)... the count", ANSWER)
    assert not quoted("the count ... Use len(xs)", ANSWER)  # fragments out of order
    assert not quoted("len(xs) is constant time", ANSWER)
    assert not quoted("...", ANSWER) and not quoted("", ANSWER)


def test_the_request_holds_no_more_than_the_question_and_the_answer() -> None:
    body = json.loads(request_body("m", REQUEST))
    assert set(body) == {"model", "messages", "temperature", "response_format", "stream"}
    payload = json.loads(body["messages"][1]["content"])
    assert set(payload) == {"question", "model_answer", "key_points", "answer"}


def test_the_models_words_keep_no_lone_surrogate() -> None:
    """Its reply is JSON, which can carry "\\ud800"; what it says is shown to the learner."""
    said = verdict_json(
        misconceptions=[{"quote": "\ud800Use len(xs)", "correction": "It is a \udfffcount."}]
    )
    said["key_points"][0]["quote"] = "it calls\ud800 the list’s __LEN__"
    verdict = parse_completion(completion(json.dumps(said)), REQUEST)
    assert [p.quote for p in verdict.points] == [
        "Use   len(xs) ... returns the count", "it calls the list’s __LEN__",
    ]  # fmt: skip
    assert verdict.misconceptions == (Misstatement("Use len(xs)", "It is a count."),)


# -- property-based: any reply is a verdict or the typed error ---------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)  # fmt: skip
POINT = st.fixed_dictionaries(
    {"id": st.integers(-1, 3) | st.booleans() | st.text(max_size=2), "hit": st.booleans() | JSON},
    optional={"quote": st.sampled_from(["Use len(xs)", "__len__", "", "nope", "ok"]) | JSON},
)
VERDICT = st.fixed_dictionaries(
    {},
    optional={
        "key_points": st.lists(POINT, max_size=3) | JSON,
        "misconceptions": st.lists(
            st.fixed_dictionaries({}, optional={"quote": JSON, "correction": JSON}), max_size=2
        ) | JSON,
        "score": st.floats() | st.integers() | JSON,
    },
)  # fmt: skip


def verdict_or_failure(body: bytes) -> ModelVerdict | None:
    try:
        return parse_completion(body, REQUEST)
    except ModelGradingFailed as failed:
        failure = failed.failure
    assert failure is Failure.INVALID_REPLY
    return None


@given(body=st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_a_verdict_or_the_typed_error(body: bytes) -> None:
    verdict_or_failure(body)


@given(value=JSON)
@settings(max_examples=300, deadline=None)
def test_any_json_body_or_content_gives_a_verdict_or_the_typed_error(value: Any) -> None:
    verdict_or_failure(json.dumps(value).encode())
    verdict_or_failure(completion(value))
    verdict_or_failure(completion(json.dumps(value)))


@given(verdict=VERDICT, fenced=st.booleans())
@settings(max_examples=500, deadline=None)
@example(  # a JSON escape of a lone surrogate in the model's words: they are shown to the learner
    verdict=verdict_json(
        misconceptions=[{"quote": "Use len(xs)", "correction": "\udfffIt is a \ud800list."}]
    ),
    fenced=False,
)
def test_any_near_verdict_gives_a_valid_verdict_or_the_typed_error(
    verdict: dict[str, Any], fenced: bool
) -> None:
    content = json.dumps(verdict)
    result = verdict_or_failure(completion(f"```json\n{content}\n```" if fenced else content))
    if result is not None:  # what passes keeps every promise of ModelVerdict
        assert [p.point for p in result.points] == list(REQUEST.key_points)
        assert all(quoted(p.quote, ANSWER) for p in result.points if p.hit)
        assert all(quoted(m.quote, ANSWER) and m.correction for m in result.misconceptions)
        assert 0.0 <= result.score <= 1.0
        for text in [
            *(p.quote for p in result.points),
            *(t for m in result.misconceptions for t in (m.quote, m.correction)),
        ]:
            text.encode("utf-8")  # sendable to a platform
