"""Property-based: whatever a learner types, the grader returns a grade in range and never
raises (shipped questions, any text: code points of every kind, negations, key phrases, choice
texts and punctuation mixed in any order, up to past the 4,000-character cap)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.bank.question_bank import load_bank
from bot.core.bank.questions import Question
from bot.core.practice.grading import MAX_ANSWER_CHARS, Gate, Suggestion, grade
from bot.core.practice.matching import read
from tests.core.properties import ANY_TEXT, PROPERTIES
from tests.fakes.paths import REPO

BANK = load_bank(REPO / "questions")
QUESTIONS = sorted(BANK.questions, key=lambda q: q.id)
PIECES = sorted(
    {p for q in QUESTIONS[:40] for k in q.key_points for p in k.phrases}
    | {c.text for q in QUESTIONS[:40] for c in q.choices}
)
WORDS = st.sampled_from(
    [*PIECES, "not", "n't", "never", "no longer", "without", "neither", "nor", "isn't",
     "doesnt", "but", "because", "is", "and", "not only", "three", ",", ".", ";", ":", "!",
     "?", "(", ")", "\n", " - ", "->", "=", "&&", "'", "’", "_", "ß", "İ", "\u200b", "\x00"]
)  # fmt: skip
ANSWERS = st.one_of(
    ANY_TEXT,
    st.lists(WORDS, max_size=60).map(" ".join),
    st.lists(st.one_of(WORDS, ANY_TEXT), max_size=30).map("".join),
    st.builds(lambda t, n: t * n, st.text(min_size=1, max_size=40), st.integers(1, 200)),
)


@PROPERTIES
@given(question=st.sampled_from(QUESTIONS), text=ANSWERS)
def test_any_answer_gets_a_grade_in_range(question: Question, text: str) -> None:
    result = grade(question, text)
    assert 0.0 <= result.score <= 1.0
    assert isinstance(result.suggestion, Suggestion)
    assert [p.point for p in result.points] == [k.point for k in question.key_points]
    assert set(result.negated) <= {k.point for k in question.key_points}
    assert not {p.point for p in result.points if p.hit} & set(result.negated)
    assert all(isinstance(m, str) and m for m in result.misconceptions)
    if result.gate is not None:
        assert isinstance(result.gate, Gate) and result.score == 0.0
        assert result.suggestion is Suggestion.AGAIN


@PROPERTIES
@given(text=ANSWERS)
def test_reading_any_text_keeps_its_parts_aligned(text: str) -> None:
    words = read(text[:MAX_ANSWER_CHARS])
    n = len(words.words)
    assert len(words.stems) == len(words.negated) == len(words.sentence) == len(words.offsets) == n
    assert words.text == " ".join(words.words)
    pairs = zip(words.offsets, words.words, strict=True)
    assert all(words.text[o : o + len(w)] == w for o, w in pairs)
    assert list(words.sentence) == sorted(words.sentence)
