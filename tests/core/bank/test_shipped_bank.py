"""The shipped question bank: valid, big enough, balanced, and exportable."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest

from bot.cli.bank import SUBJECT_TAGS
from bot.core.bank.exporters import to_anki, to_gift, to_json
from bot.core.bank.question_bank import QuestionBank, check_directory, load_bank
from bot.core.bank.questions import Question
from tests.fakes.moodle_gift import read_gift
from tests.fakes.paths import REPO

QUESTIONS = REPO / "questions"


@pytest.fixture(scope="module")
def shipped() -> QuestionBank:
    return load_bank(QUESTIONS)


def test_every_shipped_file_passes_the_validator() -> None:
    _, questions, issues = check_directory(QUESTIONS)
    assert issues == []
    assert questions


def test_distribution_minimums(shipped: QuestionBank) -> None:
    topics = shipped.topics()
    assert len(shipped) >= 520
    assert len(topics) >= 26
    assert min(t.count for t in topics) >= 15
    for topic in topics:  # every level at least a quarter of every topic
        assert min(topic.by_difficulty) >= 0.25 * topic.count, topic
    levels = Counter(q.difficulty for q in shipped.questions)
    assert all(levels[d] >= 0.25 * len(shipped) for d in (1, 2, 3)), levels
    with_code = sum(1 for q in shipped.questions if q.code)
    assert with_code >= 0.30 * len(shipped)
    tags = Counter(t for q in shipped.questions for t in q.tags)
    assert {t: tags[t] for t in SUBJECT_TAGS if tags[t] < 8} == {}


def test_foundation_subjects_are_covered(shipped: QuestionBank) -> None:
    slugs = {t.slug for t in shipped.topics()}
    assert {"django-middleware", "django-migrations", "asyncio", "rest-api", "security",
            "web-performance", "frontend-state", "docker-deployment", "fullstack-role",
            "flask"} <= slugs  # fmt: skip


def test_wrong_choices_explain_themselves(shipped: QuestionBank) -> None:
    for q in shipped.questions:
        assert all(c.why for c in q.choices if not c.correct), q.id
        assert len(q.key_points) >= 2, q.id
        assert all(ref.startswith("https://") for ref in q.references), q.id


def parse_gift(text: str) -> dict[str, str]:
    """Question name -> right answer text, read back the way Moodle's importer reads GIFT."""
    found: dict[str, str] = {}
    for q in read_gift(text):
        right = [a for a in q.answers if a.fraction == 1]
        assert len(right) == 1
        found[q.name] = right[0].text.shown()
    return found


def test_gift_export_round_trips_ids_and_answers(shipped: QuestionBank) -> None:
    titles = {t.slug: t.title for t in shipped.topics()}
    parsed = parse_gift(to_gift(list(shipped.questions), titles))
    expected = {q.id: q.choices[q.correct_index].text for q in shipped.questions}
    assert parsed == expected


def test_anki_export_has_headers_and_round_trips(shipped: QuestionBank) -> None:
    titles = {t.slug: t.title for t in shipped.topics()}
    text = to_anki(list(shipped.questions), titles)
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "#separator:tab" in header and "#html:true" in header and "#guid column:1" in header
    lines = text.splitlines()
    assert len(lines) == len(header) + len(shipped)  # one note per line
    rows = list(csv.reader(io.StringIO("\n".join(lines[len(header) :])), delimiter="\t"))
    assert len(rows) == len(shipped)
    by_guid = {row[0]: row for row in rows}
    for q in shipped.questions:
        row = by_guid[f"stackprep-{q.id}"]
        assert row[1] == f"Stackprep::{titles[q.topic]}"
        right = q.choices[q.correct_index].text
        assert _html_text(right) in row[3]
        assert f"stackprep::{q.topic}" in row[4].split()


def _html_text(text: str) -> str:
    import html

    return html.escape(text)


def test_json_export(shipped: QuestionBank) -> None:
    data = json.loads(to_json(list(shipped.questions), {}))
    assert {d["id"] for d in data} == {q.id for q in shipped.questions}
    first: Question = shipped.questions[0]
    assert data[0]["choices"][first.correct_index]["correct"] is True
