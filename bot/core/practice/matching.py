"""Reading a free-text answer for the grader (pure: snowballstemmer and rapidfuzz).

`read` turns an answer into `Words`: its normalised words, their stems (snowball English:
"blocking" and "blocks" are both "block"; "three" is "3"), which words a negation governs, and
the sentence each is in (sentences end at . ! ? ; or a line break). Then:

- `find` looks for a key phrase on stems, its content words in order with a little slack
  ("blocking the loop" finds "blocks the event loop"), or fuzzily for typos (never in code
  identifiers or numbers: `__enter__` is not `__aenter__`). A phrase keeps the stop words that
  carry its meaning (`KEPT`: "before commit" is not "after commit", "write-through" is not any
  "write"), and one whose only such word is generic ("the first one") needs all its words;
- `coverage` measures how much of a `Claim` (a choice's text, a key point's wording: weighted
  content stems) one sentence says, plainly or under a negation.

Negation: bot/core/practice/negation.py (`HARD` and `SOFT`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

from rapidfuzz import fuzz

from bot.core.practice.negation import (
    CUES,
    HARD,
    LEXICON,
    PLAIN,
    POLAR,
    SOFT,
    WORD,
    fold,
    is_negation,
    negative,
    scope,
)

__all__ = ["HARD", "PLAIN", "SOFT", "fold", "is_negation", "negative"]  # re-exported

SHORT_TERM_MAX = 4
_STEM_CACHE_MAX = 50_000

# A mark that ends a clause: , ; : . ! ? before a space, a bracket, a line break, a dash
# between spaces, an arrow.
_MARK = re.compile(r"(?=[.,;:!?()\[\]\n\s=-])([.,;:!?]+(?=\s|$)|[()\[\]\n]|\s[-–—]+\s|->|=>)")
_SENTENCE_END = frozenset(".!?;\n")
# Stop words that carry a phrase's meaning ("before commit" is not "after commit",
# "write-through" is not any "write"): kept in a phrase's content words. They stay stop words
# for everything else (the gates, the slack between a phrase's words).
_KEPT_LIST = "before after only first same still through every once again until off"
KEPT = frozenset(_KEPT_LIST.split())
_SHORT_CLAIM = 5  # a claim of this many words or fewer needs its KEPT words

_STOP_WORDS = """a about after again all also an and any are as at be because been before being
both but by can could did do does doing during each either else even every first for from had
has have having he her here how i if in instead into is it its itself just let may me might
more most must my no nor not now of off on once one only or other our out over own same she
should since so some still such than that the their them then there these they this those
though through to too under until up upon us very was we were what when where whether which
while who whom why will with within would yet you your isnt doesnt dont cant wont wasnt arent"""
STOPWORDS = frozenset(_STOP_WORDS.split())

_NUMBER_LIST = """zero one two three four five six seven eight nine ten eleven twelve thirteen
fourteen fifteen sixteen seventeen eighteen nineteen twenty"""
_NUMBERS = {w: str(n) for n, w in enumerate(_NUMBER_LIST.split())}
_stems: dict[str, str] = dict(_NUMBERS)
_stemmers: list[Callable[[str], str]] = []


def _stem_word(word: str) -> str:
    if not _stemmers:  # snowballstemmer imports all its languages (~0.2 s): on first use only
        import snowballstemmer  # type: ignore[import-untyped]

        _stemmers.append(snowballstemmer.stemmer("english").stemWord)
    return str(_stemmers[0](word))


def stem(word: str) -> str:
    """The snowball English stem of one normalised word (cached: the stemmer is pure Python);
    a number word is its digits ("three" -> "3")."""
    found = _stems.get(word)
    if found is None:
        if word in _NUMBERS:
            found = _NUMBERS[word]
        else:
            found = _stem_word(word) if len(word) > 2 and not word.isdigit() else word
        if len(_stems) >= _STEM_CACHE_MAX:
            _stems.clear()
            _stems.update(_NUMBERS)
        _stems[word] = found
    return found


def tokens(raw: str) -> list[str]:
    """The words of a text, folded: `read(raw).words`, without stemming or negation."""
    return WORD.findall(fold(raw))


@dataclass(frozen=True, slots=True)
class Words:
    """An answer, read: word i is `words[i]`, stem `stems[i]`, negated (`PLAIN`, `SOFT` or
    `HARD`), in a sentence."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    negated: tuple[int, ...]
    sentence: tuple[int, ...]
    offsets: tuple[int, ...]  # where each word starts in `text`
    text: str  # the words joined by single spaces: `normalise(answer)`
    stem_set: frozenset[str] = frozenset()  # for a quick "is it there at all"
    word_set: frozenset[str] = frozenset()
    clause: tuple[int, ...] = ()  # the clause each word is in (clauses end at any mark)

    def against(self, start: int, stop: int) -> int:
        """How firmly a negation governs words [start, stop): the firmest of theirs ("threads
        do not run in parallel" holds "threads run in parallel", HARD)."""
        return max(self.negated[start:stop], default=PLAIN)

    @property
    def sentences(self) -> int:
        return self.sentence[-1] + 1 if self.sentence else 0

    def at_offset(self, offset: int) -> int:
        """The index of the word that starts at or contains character `offset` of `text`."""
        low, high = 0, len(self.offsets) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self.offsets[mid] <= offset:
                low = mid
            else:
                high = mid - 1
        return low


def read(raw: str, vocabulary: frozenset[str] | None = None) -> Words:
    """Tokenise, stem and scope negations. With `vocabulary` (from `prefixes`: the first three
    letters of every stem the question can match), a word that cannot match anything is not
    stemmed (the stemmer is the slow part of a long answer)."""
    words: list[str] = []
    stems: list[str] = []
    negated: list[int] = []
    sentence: list[int] = []
    clauses: list[int] = []
    cache = _stems
    current = 0
    parts = _MARK.split(fold(raw))
    for n in range(0, len(parts), 2):  # a clause's text, then the mark that ends it
        clause = WORD.findall(parts[n])
        if clause:
            words += clause
            found = [cache.get(w) or _stem_if(w, vocabulary) for w in clause]
            stems += found
            if CUES.isdisjoint(clause):
                negated += [PLAIN] * len(clause)
            else:
                opens = not sentence or sentence[-1] != current  # the sentence's first clause
                negated += scope(clause, found, parts[n], opens)
            sentence += [current] * len(clause)
            clauses += [n // 2] * len(clause)
        ends = n + 1 < len(parts) and not _SENTENCE_END.isdisjoint(parts[n + 1])
        if ends and sentence and sentence[-1] == current:
            current += 1
    offsets = tuple(accumulate([len(w) + 1 for w in words[:-1]], initial=0)) if words else ()
    return Words(
        tuple(words), tuple(stems), tuple(negated), tuple(sentence), offsets, " ".join(words),
        frozenset(stems), frozenset(words), tuple(clauses),
    )  # fmt: skip


def _stem_if(word: str, vocabulary: frozenset[str] | None) -> str:
    return stem(word) if vocabulary is None or word[:3] in vocabulary else word


@dataclass(frozen=True, slots=True)
class Phrase:
    """A key phrase, ready to find: its normalised text, stems and content stems."""

    text: str
    stems: tuple[str, ...]
    content: tuple[str, ...]  # stems of its words that carry meaning (not plain stop words)
    negative: bool  # the phrase itself holds a negation ("no clause matched")
    generic: bool = False  # several words, of which at most one generic one carries meaning
    exact: frozenset[str] = frozenset()  # its numbers and code identifiers: never fuzzy


def phrase(text: str) -> Phrase:
    """A phrase from the bank's text (folded, split into words, stemmed). Its content keeps
    the stop words that carry meaning ("before", "only", "through" ...: `KEPT`) and those
    that turn it around ("not", "no", "without" ...)."""
    words = WORD.findall(fold(text))
    stems = tuple(stem(w) for w in words)
    kept = [
        (w, s) for w, s in zip(words, stems, strict=True)
        if w not in STOPWORDS or w in POLAR or w in KEPT or is_negation(w)
    ]  # fmt: skip
    generic = len(words) > 1 and (not kept or (len(kept) == 1 and kept[0][0] in KEPT))
    content = tuple(s for _, s in kept)
    exact = frozenset(w for w in words if "_" in w or any(c.isdigit() for c in w))
    return Phrase(" ".join(words), stems, content, negative(text), generic, exact)


def prefixes(stems: Iterable[str]) -> frozenset[str]:
    """The vocabulary for `read`: the first three letters of `stems`, and of the words the
    negation rules look at."""
    return frozenset(s[:3] for s in stems) | LEXICON


Span = tuple[int, int]  # words [start, stop) of an answer


def find(p: Phrase, answer: Words, threshold: float) -> list[Span]:
    """Where phrase `p` occurs in `answer`, as word spans.

    A short single term (4 characters or fewer, e.g. "GIL", "429") only as a whole word; a
    phrase of one content word by its stem, unless that word is generic ("the first one",
    "all of them": then the whole phrase, word for word); a longer one by its content stems in
    order, with at most one other content word between them (two for four or more), or else
    fuzzily on the text (rapidfuzz, for typos) within whole words, code identifiers exactly.
    A match that holds a shorter one of the same phrase gives way to it ("doesn't return it,
    so it returns None" holds "returns None" once, not negated).
    """
    if not p.stems:
        return []
    stems = answer.stems
    if len(p.stems) == 1 or len(p.content) <= 1:
        seq = p.stems if p.generic or len(p.stems) <= 1 else p.content
        found = _contiguous(seq, stems)
        if found or p.generic or len(p.text) <= SHORT_TERM_MAX:
            return found
        return _fuzzy(p, answer, threshold)
    if answer.stem_set.issuperset(p.content):
        found = _in_order(p.content, answer, 1 if len(p.content) <= 3 else 2)
        if found:
            return found
    return _fuzzy(p, answer, threshold)


def _contiguous(seq: tuple[str, ...], stems: tuple[str, ...]) -> list[Span]:
    first, n = seq[0], len(seq)
    if first not in stems:
        return []
    return [(i, i + n) for i, s in enumerate(stems) if s == first and stems[i : i + n] == seq]


def _in_order(content: tuple[str, ...], answer: Words, slack: int) -> list[Span]:
    """Spans of `content` in order among the answer's words, skipping stop words and at most
    `slack` other words."""
    found: list[Span] = []
    stems, words = answer.stems, answer.words
    first = content[0]
    for i, s in enumerate(stems):
        if s != first:
            continue
        j, k, left = 1, i + 1, slack
        while j < len(content) and k < len(stems):
            if stems[k] == content[j]:
                j += 1
            elif words[k] not in STOPWORDS or words[k] in POLAR:
                left -= 1
                if left < 0:
                    break
            k += 1
        if j == len(content):
            while found and found[-1][1] >= k:  # an earlier match holds this one: drop it
                found.pop()
            found.append((i, k))
    return found


def _fuzzy(p: Phrase, answer: Words, threshold: float) -> list[Span]:
    """The old matcher: rapidfuzz partial_ratio on the text, widened to whole words."""
    text, target = answer.text, p.text
    if len(target) <= SHORT_TERM_MAX:
        return []
    # numbers and code identifiers must be exact: 300 is not 0, __enter__ is not __aenter__
    exact = p.exact
    if not exact <= answer.word_set:
        return []
    found: list[Span] = []
    offset = 0
    while len(text) - offset >= len(target) * 0.8:
        hit = fuzz.partial_ratio_alignment(target, text[offset:], score_cutoff=threshold)
        if hit is None or hit.score < threshold:
            break
        first, last = offset + hit.dest_start, offset + hit.dest_end
        while first < last and text[first] == " ":
            first += 1
        while last > first and text[last - 1] == " ":
            last -= 1
        start = text.rfind(" ", 0, first) + 1
        end = text.find(" ", last)
        end = len(text) if end < 0 else end
        window = text[start:end]
        if (
            fuzz.ratio(target, window, score_cutoff=threshold) >= threshold
            and exact <= set(window.split())
            and not _flipped(target.split(), window.split())
        ):
            found.append((answer.at_offset(start), answer.at_offset(end - 1) + 1))
        offset = max(end, first + 1)
    return found


_ANTONYM_PREFIXES = ("a", "un", "in", "im", "il", "ir", "non", "dis")


def _flipped(target: list[str], window: list[str]) -> bool:
    """Whether a near match says the opposite: one side has a negation the other lacks ("no
    prebuilt wheel" / "a prebuilt wheel"), or a word differs only by a negating prefix ("sync"
    / "async", "case sensitive" / "case insensitive"). A typo is never that."""
    only = set(target) ^ set(window)
    if any(is_negation(w) or w in POLAR for w in only):
        return True
    return any(
        a != b and (b == p + a or a == p + b)
        for a in set(target) - set(window)
        for b in set(window) - set(target)
        for p in _ANTONYM_PREFIXES
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A statement to spot as a whole (a choice's text): its content stems, weighted, and
    those it cannot be said without ("only", "before", "every" ...: `KEPT`)."""

    text: str
    weights: dict[str, float]
    total: float
    required: frozenset[str] = frozenset()
    contrast: bool = False  # it holds "rather than", "instead of" or "without" itself


def claim(
    text: str, common: frozenset[str] = frozenset(), shared: frozenset[str] = frozenset()
) -> Claim | None:
    """A claim from a choice's text, or None when too little of it can be told apart ("3").

    Stems in `shared` (the right choice's, for a wrong one) weigh nothing: saying them tells
    nothing. Stems in `common` (the prompt's) weigh half: a learner repeats them whatever they
    think. A claim needs the weight of two words of its own. Its `KEPT` words weigh half too,
    but a short claim is not said by a sentence without one of them ("the task runs after the
    commit" by "... before the commit").
    """
    p = phrase(text)
    kept = {s for w, s in zip(p.text.split(), p.stems, strict=True) if w in KEPT}
    weights: dict[str, float] = {}
    for s in dict.fromkeys(p.content):
        if s not in shared:
            weights[s] = 0.5 if s in common or s in kept else 1.0
    total = sum(weights.values())
    if total < 2.0:
        return None
    required = frozenset(kept & weights.keys()) if len(weights) <= _SHORT_CLAIM else frozenset()
    return Claim(text, weights, total, required, negative(text) and not negative(text, False))


# Per sentence: the stems said plainly, every stem, those not under a soft negation and those
# not under a hard one.
Sentences = list[tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]]


def sentence_stems(answer: Words, clauses: bool = False) -> Sentences:
    """Per sentence (or with `clauses` per clause: between any two marks): (the stems said
    plainly, every stem including negated ones, the stems said plainly or under a hard
    negation: "without X" neither says X nor denies it, the stems said plainly or under a soft
    negation)."""
    at_each = answer.clause if clauses else answer.sentence
    sets: dict[int, tuple[set[str], set[str], set[str], set[str]]] = {}
    for s, neg, at in zip(answer.stems, answer.negated, at_each, strict=True):
        one = sets.get(at)
        if one is None:
            one = sets[at] = (set(), set(), set(), set())
        plain, every, firm, loose = one
        every.add(s)
        if neg == PLAIN:
            plain.add(s)
            firm.add(s)
            loose.add(s)
        elif neg == SOFT:
            loose.add(s)
        else:
            firm.add(s)
    return [tuple(frozenset(x) for x in one) for one in sets.values()]  # type: ignore[misc]


def coverage(c: Claim, sentences: Sentences, firm: bool = False) -> tuple[float, float]:
    """The best share of `c`'s weight said within one sentence: (plainly, negated included;
    with `firm` only hard negations included). A claim that holds a contrast itself ("follow
    links rather than hard-code URLs") is said by its words under a soft negation too."""
    best, best_any = 0.0, 0.0
    required = c.required
    for plain, every, firmly, loose in sentences:
        said = loose if c.contrast else plain
        other = firmly if firm else every
        if c.contrast and firm:
            other = every
        if required <= said:
            best = max(best, sum(w for s, w in c.weights.items() if s in said))
        if required <= other:
            best_any = max(best_any, sum(w for s, w in c.weights.items() if s in other))
    return best / c.total, best_any / c.total
