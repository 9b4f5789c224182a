"""Grading free-text answers against a question's key points (pure and fast).

An answer is first checked by gates: too short, an echo of the question, a copy of the model
answer's prose, or a list of keywords without prose. A gated answer scores 0 and says why.
Otherwise it is read by bot/core/practice/matching.py (stems, negation scope, sentences) and:

- a key point is hit when one of its phrasings occurs, on word stems ("blocking the loop"
  finds "blocks the event loop") or fuzzily for typos, or when one sentence says most of the
  point's own wording; an occurrence governed by a negation ("does not", "never", "isn't",
  "no longer", "no" ...) is no hit, and a key point found only so is reported as negated: the
  answer says its opposite (a point that is itself negative, "not for the LCP image", is hit
  by a negated mention instead); one set aside by "without", "instead of" or "rather than" is
  neither a hit nor a contradiction;
- stating the right choice's claim counts as one more point (it never lowers the share);
- misconceptions: the bank's misconception phrases, and every wrong choice's claim (most of
  the words that tell it from the right choice, in one sentence that does not also give the
  choice's `why`), each unless negated ("it is not a queryset"). The feedback names each.

The score is the share of points hit minus a penalty per misconception and per negated point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.core.bank.questions import Question
from bot.core.practice import matching
from bot.core.practice.matching import HARD, PLAIN, STOPWORDS, Claim, Phrase, Sentences, Words

MAX_ANSWER_CHARS = 4000
SHORT_TERM_MAX = matching.SHORT_TERM_MAX

_SEGMENT_SPLIT = re.compile(r"[,;\n•|]+|\s[-*]\s|^\s*[-*]\s", re.MULTILINE)
_ASIDE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_NON_WORD = re.compile(r"[^0-9a-z_]+")
_PREPARED_MAX = 10_000
_BAND_MARGIN = 0.005  # the vocabulary credit stays this far below the next suggestion's score
_OWN_NEGATION = 99  # the weight of a plain match of a negative phrase: it outweighs any denial
PASS_SCORE = 0.67  # the grader passes an answer (suggests Good) from this score
# Words and signs that relate terms, as function words do in prose: a terse answer such as
# "proxy_set_header X-Forwarded-Proto plus SECURE_PROXY_SSL_HEADER" is not a keyword list.
_CONNECTIVE_LIST = "via plus per then means mean vs versus like unlike eg ie"
_CONNECTIVES = frozenset(_CONNECTIVE_LIST.split())
_RELATION = re.compile(r"\s(?:=|->|=>|&&|\|\||\+|\+=)\s|\w:\s")
# Code relates its terms too: a call with its arguments "aget(pk=pk)", a keyword argument, a
# filter "eur|floatformat": a terse answer in code is not a keyword list (a list of dotted
# names or of bare calls "f() g()" still is).
_CODE_RELATION = re.compile(r"[A-Za-z_]\w*\([^()\s]|\w=\w|\w\|\w")


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
    threshold: float = 88.0  # rapidfuzz ratio for a typo'd phrase longer than SHORT_TERM_MAX
    min_words: int = 3
    min_chars: int = 10  # "LCP, INP, CLS" answers a "which three" question
    echo_share: float = 0.75  # share of the answer's content words that come from the prompt
    echo_new_words: int = 4  # ... and fewer new content words than this
    copy_share: float = 0.55  # share of the answer's prose trigrams found in the model answer
    keyword_stopword_share: float = 0.12  # prose relates its terms far more often than this
    keyword_min_words: int = 6  # ... in an answer of at least this many words
    aside_min_words: int = 4  # a list in brackets is left out of the list check, if this remains
    misconception_penalty: float = 0.3  # per misconception stated
    negated_penalty: float = 0.3  # per key point the answer states the opposite of
    point_share: float = 0.7  # share of a key point's own wording in one sentence: a hit
    claim_share: float = 0.75  # share of a wrong choice's distinctive words in one sentence
    why_share: float = 0.4  # ... unless the sentence gives this share of why it is wrong
    answer_share: float = 0.6  # share of the right choice's words in one sentence
    topic_weight: float = 0.05  # the most the model answer's own vocabulary adds ...
    topic_words: int = 10  # ... reached at this many of its words, within the band
    good_at: float = PASS_SCORE  # score from which Good is suggested
    hard_at: float = 0.33  # score from which Hard is suggested (below: Again): 1 of 3 points


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
    negated: tuple[str, ...] = ()  # key points the answer states the opposite of

    @property
    def hits(self) -> int:
        return sum(p.hit for p in self.points)


def normalise(text: str) -> str:
    """Casefold, drop apostrophes, punctuation to spaces: "Don't use F()!" -> "dont use f"."""
    return _NON_WORD.sub(" ", matching.fold(text)).strip()


def find_phrase(phrase: str, answer: str, rules: GradingRules) -> int | None:
    """Where a phrase first occurs in a (normalised) answer, as a character offset, or None.
    Negation is not considered here (see `grade`)."""
    words = matching.read(answer)
    found = matching.find(matching.phrase(phrase), words, rules.threshold)
    return words.offsets[min(found)[0]] if found else None


@dataclass(frozen=True, slots=True)
class _Point:
    name: str
    phrases: tuple[Phrase, ...]
    wording: Claim | None  # the point's own wording ("an empty box means pending"), as a claim
    negative: bool  # the point itself is a negative claim ("not for LCP images")


@dataclass(frozen=True, slots=True)
class _Choice:
    """A wrong choice, as a misconception to spot."""

    claim: Claim  # its text
    why: Claim | None  # why it is wrong: a sentence that gives this too explains, not claims
    feedback: str


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A question, ready to grade against (built once per question)."""

    points: tuple[_Point, ...]
    misconceptions: tuple[tuple[tuple[Phrase, ...], str], ...]  # phrases, feedback
    wrong_choices: tuple[_Choice, ...]
    answer: Claim | None  # the right choice's claim
    vocabulary: frozenset[str]  # for matching.read
    prompt_words: frozenset[str]
    key_stems: frozenset[str]  # key phrases' content stems that the prompt does not hold
    topic: frozenset[str]  # the model answer's content stems that the prompt does not hold
    model_grams: frozenset[tuple[str, str, str]]


_prepared: dict[str, tuple[Question, _Prepared]] = {}


def _prepare(question: Question) -> _Prepared:
    cached = _prepared.get(question.id)
    if cached is not None and cached[0] is question:
        return cached[1]
    prompt_text = f"{question.prompt} {question.code or ''}"
    prompt = frozenset(matching.phrase(prompt_text).content)
    points = tuple(
        _Point(
            k.point,
            tuple(matching.phrase(p) for p in k.phrases),
            matching.claim(k.point, prompt),
            _is_negative(k.point),
        )
        for k in question.key_points
    )
    misconceptions = tuple(
        (tuple(matching.phrase(p) for p in m.phrases), m.feedback) for m in question.misconceptions
    )
    right = next((c for c in question.choices if c.correct), None)
    right_stems = frozenset(matching.phrase(right.text).content) if right else frozenset()
    wrong_stems: set[str] = set()
    wrong: list[_Choice] = []
    for c in question.choices:
        if c.correct:
            continue
        wrong_stems.update(matching.phrase(c.text).content)
        found = matching.claim(c.text, prompt, right_stems)
        if found is not None:
            why = matching.claim(c.why, prompt) if c.why else None
            wrong.append(_Choice(found, why, _choice_feedback(c.text, c.why)))
    answer = matching.claim(right.text, prompt | wrong_stems) if right else None
    claims = [answer, *(k.wording for k in points)]
    claims += [x for c in wrong for x in (c.claim, c.why)]
    topic = frozenset(matching.phrase(question.model_answer).content) - prompt
    vocabulary = matching.prefixes(
        [*topic]
        + [s for k in points for p in k.phrases for s in p.stems]
        + [s for phrases, _ in misconceptions for p in phrases for s in p.stems]
        + [s for c in claims if c is not None for s in c.weights]
    )
    prepared = _Prepared(
        points, misconceptions, tuple(wrong), answer, vocabulary,
        frozenset(normalise(prompt_text).split()),
        frozenset(s for k in points for p in k.phrases for s in p.content) - prompt,
        topic | (frozenset(s for k in points for p in k.phrases for s in p.content) - prompt),
        frozenset(_trigrams(normalise(question.model_answer).split(), prose_only=False)),
    )  # fmt: skip
    if len(_prepared) >= _PREPARED_MAX:
        _prepared.clear()
    _prepared[question.id] = (question, prepared)
    return prepared


def _is_negative(point: str) -> bool:
    """A point that denies something ("not for the LCP image", "no rollback"), not one that
    contrasts ("follow links rather than hard-code URLs")."""
    return matching.negative(point, contrast=False)


def _choice_feedback(text: str, why: str | None) -> str:
    return f"“{text}” is not right: {why}" if why else f"“{text}” is not right."


def _trigrams(words: list[str], prose_only: bool = True) -> set[tuple[str, str, str]]:
    """Word trigrams; with `prose_only` only those holding a stop word (prose, not a run of
    identifiers such as "x forwarded proto" that any right answer repeats)."""
    grams = set(zip(words, words[1:], words[2:], strict=False))
    if prose_only:
        stop = STOPWORDS
        grams = {g for g in grams if g[0] in stop or g[1] in stop or g[2] in stop}
    return grams


def _gate(prepared: _Prepared, raw: str, words: list[str], rules: GradingRules) -> Gate | None:
    if len(words) < rules.min_words or len(" ".join(words)) < rules.min_chars:
        return Gate.TOO_SHORT
    grams = _trigrams(words)
    if grams:
        shared = len(grams & prepared.model_grams) / len(grams)
        if shared >= rules.copy_share:
            return Gate.COPY
    content = [w for w in words if w not in STOPWORDS]
    if content:
        from_prompt = sum(w in prepared.prompt_words for w in content)
        new = {w for w in content if w not in prepared.prompt_words}
        if (
            from_prompt / len(content) >= rules.echo_share
            and len(new) < rules.echo_new_words
            # ... unless what it adds is a key term the prompt does not hold ("coerced")
            and prepared.key_stems.isdisjoint(matching.stem(w) for w in new)
        ):
            return Gate.ECHO
    relations = (
        len(_RELATION.findall(raw))
        + len(_CODE_RELATION.findall(raw))
        + sum(w in STOPWORDS or w in _CONNECTIVES for w in words)
    )
    counted = sum(not w.isdigit() for w in words)  # "07 00 07 59" is one time, not 4 terms
    if relations < rules.keyword_stopword_share * counted and (counted >= rules.keyword_min_words):
        return Gate.KEYWORDS
    prose = _ASIDE.sub(" ", raw)  # a list in brackets is an aside ("405 (Allow: GET, HEAD)")
    if len(prose.split()) < rules.aside_min_words:
        prose = raw
    segments = [s for s in _SEGMENT_SPLIT.split(prose) if s.strip()]
    if len(segments) >= 4:
        lengths = sorted(len(s.split()) for s in segments)
        if lengths[len(lengths) // 2] <= 3 and lengths[-1] < 8:
            return Gate.KEYWORDS
        # a longer list of short phrases (a stuffed answer made of a question's phrasings
        # scored 1.0 on 10 of 537 questions: its median phrase has 4 words, or one has 8)
        short = sum(n <= 5 for n in lengths)
        if len(segments) >= 6 and short >= 0.8 * len(segments) and lengths[-1] < 10:
            return Gate.KEYWORDS
    return None


def suggest(score: float, rules: GradingRules) -> Suggestion:
    if score >= rules.good_at:
        return Suggestion.GOOD
    if score >= rules.hard_at:
        return Suggestion.HARD
    return Suggestion.AGAIN


def _occurs(phrases: tuple[Phrase, ...], words: Words, rules: GradingRules) -> tuple[bool, bool]:
    """(said plainly, said only under a hard negation) for any of `phrases`; under a soft one
    ("without X", "rather than X") a phrase is neither. A phrase of two or more content words
    under a negation ("isn't a breaking change") outweighs a shorter one said plainly elsewhere
    ("contract"): the answer contradicts the point, unless the plain one is itself negative
    ("cannot tell" against "cannot tell None from a miss"). A plain phrase followed by a
    negated one in the same clause ("returning True does not suppress it") is the subject the
    clause denies the point of: it is no plain mention."""
    plain: list[tuple[int, int, int]] = []  # (clause, start, weight) of each plain match
    denials: list[tuple[int, int]] = []  # (clause, start) of each match under a hard negation
    contradicted = 0  # content words of the longest negated match
    for p in phrases:
        for start, stop in matching.find(p, words, rules.threshold):
            level = PLAIN if p.negative else words.against(start, stop)
            at = words.clause[start]
            if level == PLAIN:
                plain.append((at, start, _OWN_NEGATION if p.negative else len(p.content)))
            elif level == HARD:
                denials.append((at, start))
                if len(p.content) >= 2:
                    contradicted = max(contradicted, len(p.content))
    if not plain:
        return False, bool(denials)
    # a negative phrase is no subject: its own negation governs what follows ("cannot tell
    # None from a miss")
    denied = {
        at
        for at, start in denials
        if any(a == at and s < start and n != _OWN_NEGATION for a, s, n in plain)
    }
    kept = [n for at, _, n in plain if at not in denied]
    if not kept or contradicted > max(kept):
        return False, True
    return True, False


def _point(
    k: _Point, words: Words, sentences: Sentences, clauses: Sentences, rules: GradingRules
) -> tuple[bool, bool]:
    """(hit, negated) for one key point: by its phrasings, else by its own wording; a phrase's
    hit gives way when a clause says most of the point's wording under a negation."""
    hit, against = _occurs(k.phrases, words, rules)
    if k.wording is not None and not against:
        said, any_way = matching.coverage(k.wording, sentences, firm=True)
        if not hit:
            hit, against = said >= rules.point_share, said < rules.point_share <= any_way
        elif (
            not k.negative
            and not k.wording.contrast
            and said < rules.point_share
            # hit by a phrase, but one clause says most of the point's wording with a
            # negation ("Partial doesn't make name optional"): the answer denies it
            and matching.coverage(k.wording, clauses, firm=True)[1] >= rules.point_share
        ):
            hit, against = False, True
    if k.negative and against:  # "not for LCP images": saying it with a negation is right
        return True, False
    return hit, against


def _claimed(c: _Choice, sentences: Sentences, rules: GradingRules) -> bool:
    """A wrong choice is claimed by a sentence that says it plainly without also giving the
    reason it is wrong (one explaining why 307 does not fit names 307 too)."""
    return any(
        matching.coverage(c.claim, [one])[0] >= rules.claim_share
        and (c.why is None or matching.coverage(c.why, [one])[1] < rules.why_share)
        for one in sentences
    )


def _with_relevance(base: float, prepared: _Prepared, words: Words, rules: GradingRules) -> float:
    """`base` plus a little for each word of the model answer's own vocabulary said plainly
    (not the prompt's): it orders answers within the band of their suggestion (an answer in
    the learner's own words that no phrasing caught ranks above an off-topic one), and never
    moves one into the next band."""
    said = {s for s, n in zip(words.stems, words.negated, strict=True) if n == PLAIN}
    relevance = rules.topic_weight * min(1.0, len(prepared.topic & said) / rules.topic_words)
    ceiling = 1.0
    if base < rules.hard_at:
        ceiling = rules.hard_at - _BAND_MARGIN
    elif base < rules.good_at:
        ceiling = rules.good_at - _BAND_MARGIN
    return max(base, min(base + relevance, ceiling))


def grade(question: Question, text: str, rules: GradingRules | None = None) -> Grade:
    """Grade one free-text answer to `question`."""
    rules = rules or GradingRules()
    prepared = _prepare(question)
    raw = text[:MAX_ANSWER_CHARS]
    gate = _gate(prepared, raw, matching.tokens(raw), rules)  # before the (slower) reading
    if gate is not None:
        misses = tuple(PointResult(k.name, False) for k in prepared.points)
        return Grade(0.0, misses, (), gate, Suggestion.AGAIN)
    words = matching.read(raw, prepared.vocabulary)
    sentences = matching.sentence_stems(words)
    clauses = matching.sentence_stems(words, clauses=True)
    results: list[PointResult] = []
    negated: list[str] = []
    for k in prepared.points:
        hit, against = _point(k, words, sentences, clauses, rules)
        results.append(PointResult(k.name, hit))
        if against:
            negated.append(k.name)
    wrong = [f for phrases, f in prepared.misconceptions if _occurs(phrases, words, rules)[0]]
    for c in prepared.wrong_choices:
        if c.feedback not in wrong and _claimed(c, sentences, rules):
            wrong.append(c.feedback)
    hits = sum(r.hit for r in results)
    share = hits / len(results) if results else 0.0
    if prepared.answer is not None and results:  # the right choice: one more point, if said
        stated = matching.coverage(prepared.answer, sentences)[0] >= rules.answer_share
        share = max(share, (hits + stated) / (len(results) + 1))
    penalty = rules.misconception_penalty * len(wrong) + rules.negated_penalty * len(negated)
    base = max(0.0, share - penalty)
    score = base if penalty else _with_relevance(base, prepared, words, rules)
    return Grade(
        round(score, 3), tuple(results), tuple(wrong), None, suggest(base, rules), tuple(negated)
    )
