"""Property-based checks of the giveaway rules, which read contributors' free text (options,
key points): whatever the text, they answer without raising, and their verdicts do not depend
on what they must not (the order of the wrong options, letter case, spacing)."""

from __future__ import annotations

from dataclasses import replace
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.bank.giveaways import (
    HEDGES,
    dissimilar_lengths,
    giveaway_warnings,
    hedged,
    key_point_overlaps,
    only_hedged,
    uniquely_longest,
)
from bot.core.bank.questions import AnswerChoice, KeyPoint, Question

FAST = settings(max_examples=150, deadline=None)
BANKS = settings(max_examples=40, deadline=None)  # a bank takes long to draw

texts = st.text(max_size=60)
points = st.builds(KeyPoint, texts, st.lists(texts, min_size=1, max_size=4).map(tuple))


@st.composite
def questions(draw: st.DrawFn, qid: str = "q-one", topic: str | None = None) -> Question:
    options = draw(st.lists(texts, min_size=3, max_size=4))
    right = draw(st.integers(0, len(options) - 1))
    choices = tuple(AnswerChoice(t, i == right, None if i == right else "no") for i, t in
                    enumerate(options))  # fmt: skip
    return Question(
        id=qid, topic=topic or draw(st.sampled_from(["alpha", "beta"])), difficulty=1,
        prompt="p", choices=choices, explanation="e", model_answer="m",
        key_points=tuple(draw(st.lists(points, min_size=2, max_size=4))), references=(),
    )  # fmt: skip


@st.composite
def banks(draw: st.DrawFn) -> list[Question]:
    count = draw(st.integers(0, 8))
    return [draw(questions(qid=f"q-{n}")) for n in range(count)]


@BANKS
@given(banks())
def test_any_bank_is_judged_without_raising(bank: list[Question]) -> None:
    topics = {q.topic for q in bank}
    for warning in giveaway_warnings(bank):
        assert warning.split(".toml: ", 1)[0] in topics


@FAST
@given(questions(), st.randoms(use_true_random=False))
def test_verdicts_ignore_the_order_of_the_options(question: Question, rng: Random) -> None:
    order = list(range(len(question.choices)))
    rng.shuffle(order)
    shuffled = replace(question, choices=tuple(question.choices[i] for i in order))
    assert shuffled.correct_index == order.index(question.correct_index)
    assert uniquely_longest(shuffled) == uniquely_longest(question)
    assert only_hedged(shuffled) == only_hedged(question)
    assert dissimilar_lengths(shuffled) == dissimilar_lengths(question)


@FAST
@given(texts)
def test_hedged_reads_any_text_regardless_of_case(text: str) -> None:
    assert hedged(text) == hedged(text.upper()) == hedged(text.lower())


@FAST
@given(
    st.sampled_from(HEDGES),
    st.from_regex(r"[A-Za-z0-9 ]{0,30}", fullmatch=True),
    st.sampled_from([" ", "  ", "\n", "\t"]),
    st.sampled_from([" ", ", ", " (", ".\n"]),
)
def test_a_hedge_between_word_boundaries_is_found(
    hedge: str, rest: str, space: str, edge: str
) -> None:
    said = hedge.replace(" ", space)
    assert hedged(f"{rest}{edge}{said}{edge}{rest}")
    assert hedged(f"{said.upper()}{edge}{rest}")
    assert not hedged(f"{rest}x{hedge.replace(' ', '')}x")  # inside a word: no hedge


def test_cant_and_cannot_are_no_hedges() -> None:
    assert not hedged("It can't run twice, and it cannot be skipped")
    assert not hedged("It can’t run twice")
    assert hedged("It can run twice") and hedged("it CAN, twice")


words = st.from_regex(r"zq[a-z]{3,8}", fullmatch=True)
worded_points = st.builds(
    KeyPoint,
    st.lists(words, min_size=2, max_size=3).map(" ".join),  # a wording of two words or more
    st.lists(texts, min_size=1, max_size=3).map(tuple),
)


@BANKS
@given(questions(topic="alpha"), st.lists(worded_points, min_size=2, max_size=5))
def test_a_copy_under_another_id_always_shares_its_key_points(
    question: Question, key_points: list[KeyPoint]
) -> None:
    original = replace(question, key_points=tuple(key_points))
    copy = replace(original, id="q-copy", topic="beta")
    found = key_point_overlaps([original, copy])
    assert len(found) == 1
    assert found[0].startswith(f"beta.toml: q-copy: shares {len(key_points)} key points with ")
