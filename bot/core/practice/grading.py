"""Grading free-text answers against a question's key points (pure; rapidfuzz for fuzziness).

An answer is first checked by gates: too short, an echo of the question, a copy of the model
answer, or a list of keywords without prose. A gated answer scores 0 and says why. Otherwise
each key point is hit when any of its accepted phrasings appears: short terms (4 characters or
fewer once normalised, e.g. "GIL", "N+1", "F()") only as whole words, longer phrases fuzzily
(rapidfuzz partial_ratio >= threshold). The score is the share of key points hit, minus a
penalty for each known misconception the answer states (a misconception phrase preceded by a
negation such as "does not" is not held against the learner).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz

from bot.core.bank.questions import Question

SHORT_TERM_MAX = 4
MAX_ANSWER_CHARS = 4000

_NON_WORD = re.compile(r"[^0-9a-z_]+")
_SEGMENT_SPLIT = re.compile(r"[,;\n•|]+|\s[-*]\s|^\s*[-*]\s", re.MULTILINE)
_NEGATION_WORDS = """not no never nor without isnt doesnt dont didnt wont cant cannot arent
wasnt shouldnt neither nothing nobody none"""
_STOP_WORDS = """a about after again all also an and any are as at be because been before being
both but by can could did do does doing during each either else even every first for from had
has have having he her here how i if in instead into is it its itself just let may me might
more most must my no nor not now of off on once one only or other our out over own same she
should since so some still such than that the their them then there these they this those
though through to too under until up upon us very was we were what when where whether which
while who whom why will with within would yet you your isnt doesnt dont cant wont wasnt arent"""
_NEGATIONS = frozenset(_NEGATION_WORDS.split())
STOPWORDS = frozenset(_STOP_WORDS.split())


class Gate(StrEnum):
    """Why an answer was not graded on its content."""

    TOO_SHORT = "too_short"
    ECHO = "echo"
    COPY = "copy"
    KEYWORDS = "keywords"


class Suggestion(StrEnum):
    """The grader's suggested self-rating (same names as FSRS ratings)."""

    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


@dataclass(frozen=True, slots=True)
class GradingRules:
    threshold: float = 88.0  # rapidfuzz partial_ratio for phrases longer than SHORT_TERM_MAX
    min_words: int = 5
    min_chars: int = 20
    echo_share: float = 0.75  # share of the answer's content words that come from the prompt
    echo_new_words: int = 4  # ... and fewer new content words than this
    copy_share: float = 0.55  # share of the answer's word trigrams found in the model answer
    keyword_stopword_share: float = 0.12  # prose has far more function words than this
    misconception_penalty: float = 0.3
    good_at: float = 0.67  # score from which Good is suggested
    hard_at: float = 0.34  # score from which Hard is suggested (below: Again)


@dataclass(frozen=True, slots=True)
class PointResult:
    point: str
    hit: bool


@dataclass(frozen=True, slots=True)
class Grade:
    score: float  # 0.0 - 1.0
    points: tuple[PointResult, ...]
    misconceptions: tuple[str, ...]  # feedback for each misconception found
    gate: Gate | None
    suggestion: Suggestion

    @property
    def hits(self) -> int:
        return sum(p.hit for p in self.points)


def normalise(text: str) -> str:
    """Casefold, drop apostrophes, punctuation to spaces: "Don't use F()!" -> "dont use f"."""
    folded = text.casefold().replace("'", "").replace("’", "")
    return _NON_WORD.sub(" ", folded).strip()


def _words(normalised: str) -> list[str]:
    return normalised.split()


def find_phrase(phrase: str, answer: str, rules: GradingRules) -> int | None:
    """Where a (normalised) phrase occurs in a (normalised) answer, or None.

    Short phrases must match whole words; longer ones fuzzily. Returns the character offset
    of the match in `answer`.
    """
    if not phrase:
        return None
    if len(phrase) <= SHORT_TERM_MAX:
        match = re.search(rf"(?<![0-9a-z_]){re.escape(phrase)}(?![0-9a-z_])", answer)
        return match.start() if match else None
    numbers = {w for w in phrase.split() if any(c.isdigit() for c in w)}
    offset = 0
    while len(answer) - offset >= len(phrase) * 0.8:
        found = fuzz.partial_ratio_alignment(phrase, answer[offset:], score_cutoff=rules.threshold)
        if found is None or found.score < rules.threshold:
            return None
        # partial_ratio aligns characters, not words: "use sticky sessions" would match inside
        # "request sticky sessions". Widen the window to whole words and score it again.
        first, last = offset + found.dest_start, offset + found.dest_end
        while first < last and answer[first] == " ":
            first += 1
        while last > first and answer[last - 1] == " ":
            last -= 1
        start = answer.rfind(" ", 0, first) + 1
        end = answer.find(" ", last)
        end = len(answer) if end < 0 else end
        window = answer[start:end]
        if fuzz.ratio(phrase, window, score_cutoff=rules.threshold) >= rules.threshold and (
            numbers <= set(window.split())  # numbers must be exact: 300 is not 0
        ):
            return start
        offset = max(end, first + 1)
    return None


def _negated(answer: str, offset: int) -> bool:
    before = _words(answer[:offset])[-3:]
    return any(w in _NEGATIONS for w in before)


def _trigrams(words: list[str]) -> set[tuple[str, str, str]]:
    return {(words[i], words[i + 1], words[i + 2]) for i in range(len(words) - 2)}


def _gate(question: Question, raw: str, answer: str, rules: GradingRules) -> Gate | None:
    words = _words(answer)
    if len(words) < rules.min_words or len(answer) < rules.min_chars:
        return Gate.TOO_SHORT
    model = _words(normalise(question.model_answer))
    grams = _trigrams(words)
    if grams:
        shared = len(grams & _trigrams(model)) / len(grams)
        if shared >= rules.copy_share:
            return Gate.COPY
    content = [w for w in words if w not in STOPWORDS]
    prompt_words = set(_words(normalise(f"{question.prompt} {question.code or ''}")))
    if content:
        from_prompt = sum(w in prompt_words for w in content)
        new = len({w for w in content if w not in prompt_words})
        if from_prompt / len(content) >= rules.echo_share and new < rules.echo_new_words:
            return Gate.ECHO
    stop_share = sum(w in STOPWORDS for w in words) / len(words)
    if stop_share < rules.keyword_stopword_share:
        return Gate.KEYWORDS
    segments = [s for s in _SEGMENT_SPLIT.split(raw) if s.strip()]
    if len(segments) >= 4:
        lengths = sorted(len(s.split()) for s in segments)
        if lengths[len(lengths) // 2] <= 3 and lengths[-1] < 8:
            return Gate.KEYWORDS
    return None


def suggest(score: float, rules: GradingRules) -> Suggestion:
    if score >= rules.good_at:
        return Suggestion.GOOD
    if score >= rules.hard_at:
        return Suggestion.HARD
    return Suggestion.AGAIN


def grade(question: Question, text: str, rules: GradingRules | None = None) -> Grade:
    """Grade one free-text answer to `question`."""
    rules = rules or GradingRules()
    raw = text[:MAX_ANSWER_CHARS]
    answer = normalise(raw)
    gate = _gate(question, raw, answer, rules)
    if gate is not None:
        misses = tuple(PointResult(k.point, False) for k in question.key_points)
        return Grade(0.0, misses, (), gate, Suggestion.AGAIN)
    results = tuple(
        PointResult(
            k.point,
            any(find_phrase(normalise(p), answer, rules) is not None for p in k.phrases),
        )
        for k in question.key_points
    )
    wrong: list[str] = []
    for m in question.misconceptions:
        for phrase in m.phrases:
            at = find_phrase(normalise(phrase), answer, rules)
            if at is not None and not _negated(answer, at):
                wrong.append(m.feedback)
                break
    share = sum(r.hit for r in results) / len(results) if results else 0.0
    score = max(0.0, share - rules.misconception_penalty * len(wrong))
    return Grade(round(score, 3), results, tuple(wrong), None, suggest(score, rules))
