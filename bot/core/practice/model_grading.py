"""Grading by a language model, behind a port, with the keyword grader as the fallback.

The core stays pure: `ModelGrader` is the port, an async `assess(request)` that returns a
`ModelVerdict` or raises `ModelGradingFailed` (bot/llm implements it over an OpenAI-compatible
chat completions API). A `ModelRequest` holds all a model is ever sent: the question's prompt
and code, the model answer, the key points and the learner's answer; no user id, name or chat.

`Grader` decides who grades an answer:

- the keyword grader (bot/core/practice/grading.py) always runs first (it is pure and fast): an
  answer it gates (too short, an echo of the question, a copy of the model answer, a keyword
  list) keeps that grade, so stuffing a model's prompt with keywords gains nothing;
- otherwise the model's verdict, cached by (question id, hash of the normalised answer) in a
  bounded LRU: the same answer twice is one call;
- the keyword grade, with one short line in the feedback saying why, when the model fails
  (a timeout, an HTTP error, a 429, a reply that does not validate), after a 429 while the
  server asked to wait, and past a person's daily limit of model calls (said once a day).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.core.bank.questions import Question
from bot.core.practice.grading import (
    MAX_ANSWER_CHARS,
    Grade,
    GradingRules,
    PointResult,
    grade,
    normalise,
    suggest,
)

log = logging.getLogger(__name__)

RETRY_AFTER_DEFAULT = 30.0  # seconds without model calls after a 429 that does not say
RETRY_AFTER_MAX = 300.0  # ... and at most this long, whatever it says


class Failure(StrEnum):
    """Why the model did not grade an answer."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"  # HTTP 429
    HTTP_ERROR = "http_error"  # any other status, a refused connection, a redirect
    INVALID_REPLY = "invalid_reply"  # not JSON, the wrong shape, a quote not in the answer


class ModelGradingFailed(Exception):
    """The port's one error. `detail` is for the log: never the reply's body or the key."""

    def __init__(self, failure: Failure, detail: str = "", retry_after: float | None = None):
        super().__init__(f"{failure.value}: {detail}" if detail else failure.value)
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after  # seconds, from a 429's Retry-After


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a model is sent about one answer (and nothing about who wrote it)."""

    prompt: str
    code: str | None
    model_answer: str
    key_points: tuple[str, ...]
    answer: str

    @classmethod
    def of(cls, question: Question, answer: str) -> ModelRequest:
        return cls(
            question.prompt,
            question.code,
            question.model_answer,
            tuple(k.point for k in question.key_points),
            answer[:MAX_ANSWER_CHARS],
        )


@dataclass(frozen=True, slots=True)
class PointVerdict:
    point: str  # the key point, as in the request
    hit: bool
    quote: str  # the answer's words that state it ("" when missed)


@dataclass(frozen=True, slots=True)
class Misstatement:
    quote: str  # the answer's words that state it
    correction: str  # what is wrong with it, in one sentence


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """A validated verdict: every key point of the request once, in order; every quote occurs
    in the answer (`quoted`); the score within 0..1."""

    points: tuple[PointVerdict, ...]
    misconceptions: tuple[Misstatement, ...]
    score: float


class ModelGrader(Protocol):
    async def assess(self, request: ModelRequest) -> ModelVerdict:
        """The model's validated verdict, or ModelGradingFailed."""
        ...


_ELLIPSIS = re.compile(r"\.\.\.+|…")
_SPACE = re.compile(r"\s+")
_TYPOGRAPHIC = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "`": "'"})
_TRIM = " \t\n.,;:!?\"'()[]"
MIN_QUOTE_CHARS = 3


def _plain(text: str) -> str:
    return _SPACE.sub(" ", text.translate(_TYPOGRAPHIC).casefold()).strip(_TRIM)


def quoted(quote: str, answer: str) -> bool:
    """Whether `quote` really occurs in `answer`: letter case, runs of white space,
    typographic quotes and the punctuation around it aside; "..." may join fragments that
    occur in this order. At least MIN_QUOTE_CHARS characters must be quoted."""
    fragments = [f for f in (_plain(p) for p in _ELLIPSIS.split(quote)) if f]
    if sum(len(f) for f in fragments) < MIN_QUOTE_CHARS:
        return False
    text, at = _plain(answer), 0
    for fragment in fragments:
        found = text.find(fragment, at)
        if found < 0:
            return False
        at = found + len(fragment)
    return True


@dataclass(frozen=True, slots=True)
class ModelGradingSettings:
    daily_limit: int = 50  # model calls per person per (UTC) day; past it: keywords
    cache_size: int = 1000  # verdicts kept (LRU); 0: none


@dataclass(frozen=True, slots=True)
class Graded:
    grade: Grade
    note: str | None = None  # one line for the learner when keywords graded instead
    by_model: bool = False


FALLBACK_NOTES = {
    Failure.TIMEOUT: "Graded by keywords: the model grader did not answer in time.",
    Failure.RATE_LIMITED: "Graded by keywords: the model grader is busy right now.",
    Failure.HTTP_ERROR: "Graded by keywords: the model grader is not available.",
    Failure.INVALID_REPLY: "Graded by keywords: the model grader's reply was not usable.",
}


def limit_note(limit: int) -> str:
    return f"Graded by keywords: you used today's {limit} model-graded answers."


def verdict_grade(verdict: ModelVerdict, rules: GradingRules) -> Grade:
    """The verdict as the feedback shows a grade: points hit, and each misconception with the
    words that stated it."""
    score = min(1.0, max(0.0, verdict.score)) if math.isfinite(verdict.score) else 0.0
    return Grade(
        round(score, 3),
        tuple(PointResult(p.point, p.hit) for p in verdict.points),
        tuple(f"“{m.quote}”: {m.correction}" for m in verdict.misconceptions),
        None,
        suggest(score, rules),
    )


class Grader:
    """Grades free-text answers: by keywords, or by a model with keywords as the fallback."""

    def __init__(
        self,
        rules: GradingRules,
        model: ModelGrader | None = None,
        settings: ModelGradingSettings | None = None,
    ) -> None:
        self.rules = rules
        self.model = model
        self.settings = settings or ModelGradingSettings()
        self._cache: OrderedDict[tuple[str, str], Grade] = OrderedDict()
        self._day: date | None = None
        self._calls: dict[int, int] = {}  # person -> model calls on `_day`
        self._told: set[int] = set()  # people told today that their limit is reached
        self._quiet_until: datetime | None = None  # after a 429

    @staticmethod
    def cache_key(question: Question, text: str) -> tuple[str, str]:
        digest = hashlib.sha256(normalise(text[:MAX_ANSWER_CHARS]).encode()).hexdigest()
        return question.id, digest

    async def grade(self, question: Question, text: str, person: int, now: datetime) -> Graded:
        """Grade `person`'s answer to `question` at `now` (aware, UTC)."""
        keywords = grade(question, text, self.rules)
        if self.model is None or keywords.gate is not None or not question.key_points:
            return Graded(keywords)
        key = self.cache_key(question, text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return Graded(cached, by_model=True)
        if self._quiet_until is not None and now < self._quiet_until:
            return Graded(keywords, FALLBACK_NOTES[Failure.RATE_LIMITED])
        if not self._take_call(person, now.date()):
            if person in self._told:
                return Graded(keywords)
            self._told.add(person)
            return Graded(keywords, limit_note(self.settings.daily_limit))
        try:
            verdict = await self.model.assess(ModelRequest.of(question, text))
        except ModelGradingFailed as failed:
            log.warning(
                "model grader failed (%s%s); graded by keywords",
                failed.failure.value, f": {failed.detail}" if failed.detail else "",
            )  # fmt: skip
            if failed.failure is Failure.RATE_LIMITED:
                wait = failed.retry_after if failed.retry_after is not None else RETRY_AFTER_DEFAULT
                self._quiet_until = now + timedelta(seconds=min(max(wait, 0.0), RETRY_AFTER_MAX))
            return Graded(keywords, FALLBACK_NOTES[failed.failure])
        result = verdict_grade(verdict, self.rules)
        self._remember(key, result)
        return Graded(result, by_model=True)

    def _take_call(self, person: int, today: date) -> bool:
        """Count one model call for `person` today; False past the daily limit."""
        if today != self._day:
            self._day, self._calls, self._told = today, {}, set()
        used = self._calls.get(person, 0)
        if used >= self.settings.daily_limit:
            return False
        self._calls[person] = used + 1
        return True

    def _remember(self, key: tuple[str, str], result: Grade) -> None:
        if self.settings.cache_size <= 0:
            return
        self._cache[key] = result
        self._cache.move_to_end(key)
        while len(self._cache) > self.settings.cache_size:
            self._cache.popitem(last=False)
