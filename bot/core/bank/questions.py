"""The question model and its validating parser (pure: TOML text in, questions or issues out)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LABELS = "ABCD"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,47}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
MAX_CHOICE = 80  # a Discord button label; also fits a Telegram poll option (100)
MAX_EXPLANATION = 200  # a Telegram quiz-poll explanation
MAX_PROMPT = 1000
MAX_WHY = 200
DIFFICULTY_NAMES = {1: "junior", 2: "mid", 3: "senior"}

_FILE_KEYS = {"topic", "title", "questions"}
_QUESTION_KEYS = {
    "id", "difficulty", "prompt", "code", "language", "choices", "explanation",
    "model_answer", "key_points", "misconceptions", "references", "tags",
}  # fmt: skip
_CHOICE_KEYS = {"text", "correct", "why"}
_KEY_POINT_KEYS = {"point", "phrases"}
_MISCONCEPTION_KEYS = {"phrases", "feedback"}
# A sentence ends at . ! or ? followed by a capital (or the end); "e.g. the" is one sentence.
_SENTENCE_RE = re.compile(r"[.!?](?=\s+[A-Z0-9`\"'(]|\s*$)")


@dataclass(frozen=True, slots=True)
class AnswerChoice:
    text: str
    correct: bool
    why: str | None = None


@dataclass(frozen=True, slots=True)
class KeyPoint:
    point: str
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Misconception:
    phrases: tuple[str, ...]
    feedback: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    topic: str
    difficulty: int
    prompt: str
    choices: tuple[AnswerChoice, ...]
    explanation: str
    model_answer: str
    key_points: tuple[KeyPoint, ...]
    references: tuple[str, ...]
    code: str | None = None
    language: str = "python"
    misconceptions: tuple[Misconception, ...] = ()
    tags: tuple[str, ...] = ()
    # the right choice's index, found once: every answer asks for it
    correct_index: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = next((i for i, c in enumerate(self.choices) if c.correct), -1)
        object.__setattr__(self, "correct_index", index)


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class ParsedFile:
    topic: Topic | None
    questions: tuple[Question, ...]
    issues: tuple[str, ...]


def count_sentences(text: str) -> int:
    return len(_SENTENCE_RE.findall(text.strip()))


class _Issues:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.items: list[str] = []

    def add(self, where: str | None, message: str) -> None:
        prefix = f"{self.filename}: {where}: " if where else f"{self.filename}: "
        self.items.append(prefix + message)


def _text(raw: dict[str, Any], key: str, where: str, issues: _Issues, limit: int) -> str | None:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        issues.add(where, f"'{key}' must be a non-empty string")
        return None
    value = value.strip()
    if len(value) > limit:
        issues.add(where, f"'{key}' is {len(value)} characters; the limit is {limit}")
    return value


def _unknown_keys(raw: dict[str, Any], allowed: set[str], where: str, issues: _Issues) -> None:
    for key in sorted(set(raw) - allowed):
        issues.add(where, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")


def _str_list(value: object) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return [v.strip() for v in value]


def _parse_choices(
    raw: object, where: str, issues: _Issues, community: bool = False
) -> tuple[AnswerChoice, ...]:
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        issues.add(where, "'choices' must be a list of tables ([[questions.choices]])")
        return ()
    choices: list[AnswerChoice] = []
    for n, c in enumerate(raw, 1):
        cw = f"{where} choice {n}"
        _unknown_keys(c, _CHOICE_KEYS, cw, issues)
        text = _text(c, "text", cw, issues, MAX_CHOICE) or ""
        correct = c.get("correct", False)
        if not isinstance(correct, bool):
            issues.add(cw, "'correct' must be true or false")
            correct = False
        why = c.get("why")
        if why is not None and (not isinstance(why, str) or len(why.strip()) > MAX_WHY):
            issues.add(cw, f"'why' must be a string of at most {MAX_WHY} characters")
            why = None
        if not correct and not why and not community:
            issues.add(cw, "a wrong choice needs a one-line 'why'")
        choices.append(AnswerChoice(text, correct, why.strip() if why else None))
    if not 3 <= len(choices) <= 4:
        issues.add(where, f"needs 3 or 4 choices, has {len(choices)}")
    right = sum(c.correct for c in choices)
    if right != 1:
        issues.add(where, f"needs exactly one right choice, has {right}")
    texts = [c.text.casefold() for c in choices]
    if len(set(texts)) != len(texts):
        issues.add(where, "two choices have the same text")
    return tuple(choices)


def _parse_key_points(
    raw: object, model_answer: str, where: str, issues: _Issues
) -> tuple[KeyPoint, ...]:
    if not isinstance(raw, list) or not all(isinstance(k, dict) for k in raw):
        issues.add(where, "'key_points' must be a list of tables ([[questions.key_points]])")
        return ()
    points: list[KeyPoint] = []
    answer = model_answer.casefold()
    for n, k in enumerate(raw, 1):
        kw = f"{where} key point {n}"
        _unknown_keys(k, _KEY_POINT_KEYS, kw, issues)
        name = _text(k, "point", kw, issues, MAX_CHOICE) or ""
        phrases = _str_list(k.get("phrases"))
        if not phrases:
            issues.add(kw, "'phrases' must be a non-empty list of strings")
            phrases = []
        elif answer and not any(p.casefold() in answer for p in phrases):
            issues.add(kw, f"none of the phrases of '{name}' appears in the model answer")
        points.append(KeyPoint(name, tuple(phrases)))
    if len(points) < 2:
        issues.add(where, f"needs at least 2 key points, has {len(points)}")
    return tuple(points)


def _parse_misconceptions(raw: object, where: str, issues: _Issues) -> tuple[Misconception, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        issues.add(where, "'misconceptions' must be a list of tables")
        return ()
    found: list[Misconception] = []
    for n, m in enumerate(raw, 1):
        mw = f"{where} misconception {n}"
        _unknown_keys(m, _MISCONCEPTION_KEYS, mw, issues)
        phrases = _str_list(m.get("phrases"))
        if not phrases:
            issues.add(mw, "'phrases' must be a non-empty list of strings")
        feedback = _text(m, "feedback", mw, issues, MAX_EXPLANATION)
        if phrases and feedback:
            found.append(Misconception(tuple(phrases), feedback))
    return tuple(found)


def _parse_question(
    raw: dict[str, Any], topic: str, n: int, issues: _Issues, community: bool = False
) -> Question | None:
    """One question; `community`: a community's own (multiple choice only: the free-text
    fields, references and the wrong choices' 'why' are optional, checked when present)."""
    qid = raw.get("id")
    if not isinstance(qid, str) or not ID_RE.match(qid):
        issues.add(f"question {n}", f"'id' must be a slug matching {ID_RE.pattern}, got {qid!r}")
        return None
    before = len(issues.items)
    _unknown_keys(raw, _QUESTION_KEYS, qid, issues)
    difficulty = raw.get("difficulty")
    if isinstance(difficulty, bool) or difficulty not in (1, 2, 3):
        issues.add(qid, f"'difficulty' must be 1, 2 or 3, got {difficulty!r}")
        difficulty = 1
    prompt = _text(raw, "prompt", qid, issues, MAX_PROMPT) or ""
    explanation = _text(raw, "explanation", qid, issues, MAX_EXPLANATION) or ""
    optional = community and "model_answer" not in raw
    model_answer = "" if optional else _text(raw, "model_answer", qid, issues, 2000) or ""
    sentences = count_sentences(model_answer)
    if model_answer and not 2 <= sentences <= 6:
        issues.add(qid, f"'model_answer' must be 2-6 sentences, has {sentences}")
    code = raw.get("code")
    if code is not None and (not isinstance(code, str) or not code.strip()):
        issues.add(qid, "'code' must be a non-empty string when present")
        code = None
    language = raw.get("language", "python")
    if not isinstance(language, str) or not SLUG_RE.match(language):
        issues.add(qid, "'language' must be a short lowercase name such as python or sql")
        language = "python"
    references = _str_list(raw.get("references", [] if community else None))
    if references is None or (not references and not community):
        issues.add(qid, "needs at least one reference to official documentation")
        references = []
    for ref in references:
        if not re.match(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$", ref):
            issues.add(qid, f"reference {ref!r} is not an https URL")
    tags = raw.get("tags", [])
    tag_list = _str_list(tags) if tags else []
    if tag_list is None or not all(SLUG_RE.match(t) for t in tag_list):
        issues.add(qid, "'tags' must be a list of lowercase slugs")
        tag_list = []
    choices = _parse_choices(raw.get("choices"), qid, issues, community)
    key_points: tuple[KeyPoint, ...] = ()
    if not community or "key_points" in raw:
        key_points = _parse_key_points(raw.get("key_points"), model_answer, qid, issues)
    misconceptions = _parse_misconceptions(raw.get("misconceptions"), qid, issues)
    if len(issues.items) > before:
        return None
    return Question(
        id=qid, topic=topic, difficulty=difficulty, prompt=prompt, choices=choices,
        explanation=explanation, model_answer=model_answer, key_points=key_points,
        references=tuple(references), code=code.strip("\n") if code else None,
        language=language, misconceptions=misconceptions, tags=tuple(tag_list),
    )  # fmt: skip


def parse_topic_file(
    text: str,
    filename: str,
    loads: Callable[[str], dict[str, Any]] = tomllib.loads,
    *,
    community: bool = False,
) -> ParsedFile:
    """Parse one `questions/<topic>.toml`; every problem is reported with file and question id.
    `loads` reads the TOML (a cache of parsed files may stand in for tomllib); `community`:
    a community's own file (see parse_topic_data)."""
    try:
        data = loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ParsedFile(None, (), (f"{filename}: not valid TOML: {exc}",))
    return parse_topic_data(data, filename, community=community)


def parse_topic_data(data: dict[str, Any], filename: str, *, community: bool = False) -> ParsedFile:
    """Validate one topic file's parsed TOML. `community`: a community's own questions, which
    only multiple choice reaches: `model_answer`, `key_points`, `misconceptions`, `references`
    and a wrong choice's `why` are optional (checked when present), and the file may have any
    name (the topic is its `topic`)."""
    issues = _Issues(filename)
    _unknown_keys(data, _FILE_KEYS, "file", issues)
    stem = filename.rsplit("/", 1)[-1].removesuffix(".toml")
    slug = data.get("topic")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        issues.add(None, f"'topic' must be a lowercase slug, got {slug!r}")
        slug = stem if SLUG_RE.match(stem) else "topic"
    elif slug != stem and not community:
        issues.add(None, f"'topic' is {slug!r} but the file is named {stem}.toml")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        issues.add(None, "'title' must be a non-empty string")
        title = slug
    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list) or not all(isinstance(q, dict) for q in raw_questions):
        issues.add(None, "'questions' must be a list of tables ([[questions]])")
        raw_questions = []
    questions = [
        _parse_question(q, slug, n, issues, community) for n, q in enumerate(raw_questions, 1)
    ]
    return ParsedFile(
        Topic(slug, title.strip()), tuple(q for q in questions if q), tuple(issues.items)
    )
