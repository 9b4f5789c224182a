"""The blind evaluation sets (tests/data/blind*_answers.toml) stay usable: every answer names a
shipped question, each question has the seven kinds once, labels are 0-2, each split divides its
set's questions into two disjoint halves, and no question is in two sets or in the golden set.
Nothing here grades an answer: the sets are measured by bench/grading.py only."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from bot.core.bank.question_bank import load_bank
from tests.fakes.paths import DATA, REPO

SETS = [
    ("blind_answers.toml", "blind_split.toml"),
    ("blind2_answers.toml", "blind2_split.toml"),
    ("blind3_answers.toml", "blind3_split.toml"),
    ("blind4_answers.toml", "blind4_split.toml"),
    ("blind5_answers.toml", "blind5_split.toml"),
]
KINDS = {"good", "paraphrase", "partial", "wrong", "negated", "terse", "off_topic"}


def _load(name: str) -> dict[str, list[dict[str, object]]]:
    return tomllib.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("answers_file", "split_file"), SETS)
def test_a_blind_set_is_whole_and_split_once(answers_file: str, split_file: str) -> None:
    bank = load_bank(REPO / "questions")
    answers = _load(answers_file)["answers"]
    kinds = Counter((str(a["question"]), str(a["kind"])) for a in answers)
    questions = {q for q, _ in kinds}
    assert [q for q in questions if bank.get(q) is None] == []
    assert set(kinds.values()) == {1}
    assert all({k for q2, k in kinds if q2 == q} == KINDS for q in questions)
    assert {a["label"] for a in answers} <= {0, 1, 2}
    split = _load(split_file)
    development, test = set(split["development"]), set(split["test"])
    assert development | test == questions and not development & test
    assert abs(len(development) - len(test)) <= 1


def test_no_question_is_in_two_sets() -> None:
    seen: Counter[str] = Counter()
    for answers_file, _ in SETS:
        seen.update({str(a["question"]) for a in _load(answers_file)["answers"]})
    seen.update({str(a["question"]) for a in _load("golden_answers.toml")["answers"]})
    assert [q for q, n in seen.items() if n > 1] == []
