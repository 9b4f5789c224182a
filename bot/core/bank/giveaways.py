"""Giveaways: what lets a learner pick the right option without knowing the subject, and two
questions that test the same fact (pure: questions in, `questions check` warnings out).

- Per topic: the right option is the uniquely longest, or the only hedged one ("usually",
  "can", "may" ...), in more than a quarter of the topic's questions; or it is listed in the
  same place (A, B ...) in more than half of a topic of at least 8 questions.
- Per question: options of dissimilar length (the longest over 2.5 times the shortest and at
  least 30 characters longer, so short code answers such as "3" and "None" pass).
- Across the bank: two questions that share key points, a key point of one said in the same
  words (stemmed, stop words dropped) as a key point of the other: at least 2 shared, at
  least half of the smaller question's points, and one shared wording of two words or more.

docs/question-format.md explains each rule and how its threshold was calibrated.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import combinations

from bot.core.bank.questions import LABELS, KeyPoint, Question

LONGEST_SHARE = 0.25  # of a topic's questions whose right option is the uniquely longest
HEDGED_SHARE = 0.25  # of a topic's questions whose right option alone is hedged
POSITION_SHARE = 0.5  # of a topic's questions with the right option in one place
POSITION_MIN_QUESTIONS = 8  # smaller topics are not judged on position
LENGTH_RATIO = 2.5  # longest option over shortest ...
LENGTH_GAP = 30  # ... and at least this many characters apart
SHARED_KEY_POINTS = 2  # key points two questions may not share (and half of the smaller's)

HEDGES = (
    "usually", "generally", "typically", "often", "sometimes", "frequently", "mostly",
    "mainly", "largely", "likely", "probably", "possibly", "perhaps", "can", "could", "may",
    "might", "depends", "depending", "tend to", "tends to", "in most cases", "in many cases",
    "in some cases", "in general", "as a rule", "not always", "not necessarily",
    "where possible", "if needed", "when needed",
)  # fmt: skip
# Whole words, any case, any spacing; "can't" is no hedge ("cannot" never matches "can").
_HEDGE_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(h).replace(r"\ ", r"\s+") for h in HEDGES) + r")\b(?!['’]t)",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[0-9a-z_+]+")
# Dropped before comparing wordings; so are "not" and "no": a fact and its negation are one fact.
_STOP_WORD_LIST = """a an the of to in on at by for from with as and or is are be been it its
this that not no each every"""
_STOP_WORDS = frozenset(_STOP_WORD_LIST.split())


def hedged(text: str) -> bool:
    """Whether `text` has a hedge word ("usually", "can", "in most cases" ...)."""
    return _HEDGE_RE.search(text) is not None


def uniquely_longest(question: Question) -> bool:
    """The right option has more characters than every other option."""
    if not 0 <= question.correct_index < len(question.choices):
        return False
    right = len(question.choices[question.correct_index].text)
    others = [len(c.text) for i, c in enumerate(question.choices) if i != question.correct_index]
    return all(n < right for n in others)


def only_hedged(question: Question) -> bool:
    """The right option has a hedge word and no other option has one."""
    if not 0 <= question.correct_index < len(question.choices):
        return False
    marks = [hedged(c.text) for c in question.choices]
    return marks[question.correct_index] and sum(marks) == 1


def dissimilar_lengths(question: Question) -> tuple[int, int] | None:
    """(shortest, longest) option lengths when they are too far apart, else None."""
    lengths = [len(c.text) for c in question.choices]
    if not lengths:
        return None
    shortest, longest = min(lengths), max(lengths)
    if longest > LENGTH_RATIO * shortest and longest - shortest >= LENGTH_GAP:
        return shortest, longest
    return None


def giveaway_warnings(questions: Sequence[Question]) -> list[str]:
    """Every giveaway warning: per topic, then per question, then shared key points."""
    by_topic: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_topic[q.topic].append(q)
    warnings: list[str] = []
    for topic, in_topic in sorted(by_topic.items()):
        warnings.extend(topic_warnings(topic, in_topic))
    for q in questions:
        if found := dissimilar_lengths(q):
            warnings.append(
                f"{q.topic}.toml: {q.id}: options of dissimilar length ({found[0]} to "
                f"{found[1]} characters); make them alike so length gives nothing away"
            )
    warnings.extend(key_point_overlaps(questions))
    return warnings


def topic_warnings(topic: str, questions: Sequence[Question]) -> list[str]:
    """The right option's tells within one topic: longest, only hedged, always in one place."""
    found = [
        _share(
            topic, questions, uniquely_longest, LONGEST_SHARE, "the uniquely longest",
            "lengthen a wrong option or shorten the right one",
        ),
        _share(
            topic, questions, only_hedged, HEDGED_SHARE, "the only hedged one",
            "hedge a wrong option too or state the right one plainly",
        ),
        _position(topic, questions),
    ]  # fmt: skip
    return [w for w in found if w]


def _share(
    topic: str,
    questions: Sequence[Question],
    test: Callable[[Question], bool],
    limit: float,
    what: str,
    fix: str,
) -> str | None:
    hits = [q.id for q in questions if test(q)]
    if not questions or len(hits) <= limit * len(questions):
        return None
    return (
        f"{topic}.toml: the right option is {what} in {len(hits)} of {len(questions)} "
        f"questions ({len(hits) / len(questions):.0%}, more than {limit:.0%}): "
        f"{', '.join(hits)}; {fix}"
    )


def _position(topic: str, questions: Sequence[Question]) -> str | None:
    places = Counter(q.correct_index for q in questions if 0 <= q.correct_index < len(LABELS))
    if len(questions) < POSITION_MIN_QUESTIONS or not places:
        return None
    index, count = places.most_common(1)[0]
    if count <= POSITION_SHARE * len(questions):
        return None
    return (
        f"{topic}.toml: the right option is listed as choice {LABELS[index]} in {count} of "
        f"{len(questions)} questions ({count / len(questions):.0%}, more than "
        f"{POSITION_SHARE:.0%}); spread it across the choices"
    )


def key_point_overlaps(questions: Sequence[Question]) -> list[str]:
    """Pairs of questions that share key points: a wording (a point's name or a phrase, on
    stems) of one is a wording of the other, for SHARED_KEY_POINTS points or more and at
    least half of the smaller question's points, and at least one of the shared wordings is
    of two words or more (one word, "XSS" or "LCP", is a subject's vocabulary, not a fact)."""
    holders: dict[tuple[str, ...], set[tuple[int, int]]] = defaultdict(set)
    for qi, q in enumerate(questions):
        for ki, point in enumerate(q.key_points):
            for wording in _wordings(point):
                holders[wording].add((qi, ki))
    # (question a, question b) -> {(point of a, point of b): shared a wording of 2+ words}
    shared: dict[tuple[int, int], dict[tuple[int, int], bool]] = defaultdict(dict)
    for wording, holding in holders.items():
        for (qa, ka), (qb, kb) in combinations(sorted(holding), 2):
            if qa != qb:
                points = shared[qa, qb]
                points[ka, kb] = points.get((ka, kb), False) or len(wording) > 1
    warnings: list[str] = []
    for (qa, qb), points in sorted(shared.items()):
        a, b = questions[qa], questions[qb]
        count = min(len({ka for ka, _ in points}), len({kb for _, kb in points}))
        smaller = min(len(a.key_points), len(b.key_points))
        if count < SHARED_KEY_POINTS or 2 * count < smaller or not any(points.values()):
            continue
        named = ", ".join(
            f"'{b.key_points[kb].point}' ~ '{a.key_points[ka].point}'"
            for ka, kb in sorted(points, key=lambda p: (p[1], p[0]))
        )
        warnings.append(
            f"{b.topic}.toml: {b.id}: shares {count} key points with {a.id} ({a.topic}.toml): "
            f"{named}; do the two test the same fact?"
        )
    return warnings


def _wordings(point: KeyPoint) -> set[tuple[str, ...]]:
    """A key point's name and phrases as stem sequences, stop words dropped."""
    found = {_stems(text) for text in (point.point, *point.phrases)}
    found.discard(())
    return found


def _stems(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _WORD_RE.findall(text.casefold()) if w not in _STOP_WORDS)


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    return _stemmer()(word)


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    import snowballstemmer  # type: ignore[import-untyped]  # ~0.2 s: on first use only

    stem: Callable[[str], str] = snowballstemmer.stemmer("english").stemWord
    return stem
