"""Reading a free-text answer for the grader (pure: snowballstemmer and rapidfuzz).

`read` turns an answer into `Words`: its normalised words, their stems (snowball English:
"blocking" and "blocks" are both "block"; "three" is "3"), which words a negation governs, and
the sentence each is in (sentences end at . ! ? ; or a line break). Then:

- `find` looks for a key phrase on stems, its content words in order with a little slack
  ("blocking the loop" finds "blocks the event loop"), or fuzzily for typos;
- `coverage` measures how much of a `Claim` (a choice's text, a key point's wording: weighted
  content stems) one sentence says, plainly or under a negation.

Negation is scoped to its clause. "not", "never", "n't" (with or without the apostrophe:
"isn't", "isnt"), "cannot", "neither", "nor" and "no longer" govern the words after them up to
the end of the clause: a punctuation mark, a word that starts another clause ("but",
"because", "so", "which", "instead" ...), a new verb ("anything not matched | is re-raised")
or a new conjunct ("isn't from the preferred hasher | and re-hashes"). "without" governs the
next three words. A negated verb that dismisses its subject ("X isn't needed", "switching to
X wouldn't change anything") negates the words before it in the clause too. "not only" and
"not just" negate nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

from rapidfuzz import fuzz

SHORT_TERM_MAX = 4
_STEM_CACHE_MAX = 50_000

_WORD = re.compile(r"[0-9a-z_]+")
# A mark that ends a clause: , ; : . ! ? before a space, a bracket, a line break, a dash
# between spaces, an arrow.
_MARK = re.compile(r"(?=[.,;:!?()\[\]\n\s=-])([.,;:!?]+(?=\s|$)|[()\[\]\n]|\s[-–—]+\s|->|=>)")
_SENTENCE_END = frozenset(".!?;\n")
_CLAUSE_WORD_LIST = """but however although though whereas while because since so unless
except which then instead rather yet"""
_CLAUSE_WORDS = frozenset(_CLAUSE_WORD_LIST.split())
_NEGATION_LIST = """not never neither nor cannot isnt doesnt dont didnt wont cant arent wasnt
werent shouldnt wouldnt couldnt hasnt havent hadnt mustnt neednt aint"""
_NEGATION_WORDS = frozenset(_NEGATION_LIST.split())
_SHORT_NEGATIONS = frozenset({"without"})
_SHORT_SCOPE = 3  # words governed by "without"
# A new verb ends a negation's scope: "anything not matched | is re-raised".
_SCOPE_VERBS = frozenset({"is", "are", "was", "were", "gets", "get", "becomes"})
# Words that turn a phrase around: kept when a phrase is reduced to its content words.
_POLAR = frozenset({"no", "not", "never", "nor", "neither", "without", "instead", "rather"})
# A negated verb that dismisses its subject: "X isn't needed", "X doesn't matter" (stems).
_DISMISSAL_LIST = "need necessari requir matter help chang work appli exist happen true correct"
_DISMISSALS = frozenset(_DISMISSAL_LIST.split())
_NOT_NEGATING = frozenset({"onli", "just"})  # "not only", "not just"
# Stemmed whatever the question: the negation rules look at these stems.
LEXICON = frozenset(w[:3] for w in _DISMISSALS | _NOT_NEGATING)
_NT_FORMS = "do does did is are was were has have had would should could must need might ca wo"
_CLAUSE, _SCOPE_VERB, _AND, _NEGATION, _LONGER, _SHORT_NEGATION = range(1, 7)
_ROLES = {
    **{w: _CLAUSE for w in _CLAUSE_WORDS},
    **{w: _SCOPE_VERB for w in _SCOPE_VERBS},
    "and": _AND,
    **{w: _NEGATION for w in _NEGATION_WORDS | {f"{w}nt" for w in _NT_FORMS.split()}},
    "longer": _LONGER,
    **{w: _SHORT_NEGATION for w in _SHORT_NEGATIONS},
}
_CUES = frozenset(w for w, role in _ROLES.items() if role in {_NEGATION, _LONGER, _SHORT_NEGATION})

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


def fold(text: str) -> str:
    """Casefold and drop apostrophes: "Don't" -> "dont"."""
    return text.casefold().replace("'", "").replace("’", "")


def is_negation(word: str) -> bool:
    """ "not", "never", "nor", "cannot", "isn't" or "isnt", "wouldn't" ... (a folded word)."""
    return _ROLES.get(word) == _NEGATION


@dataclass(frozen=True, slots=True)
class Words:
    """An answer, read: word i is `words[i]`, stem `stems[i]`, negated or not, in a sentence."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    negated: tuple[bool, ...]
    sentence: tuple[int, ...]
    offsets: tuple[int, ...]  # where each word starts in `text`
    text: str  # the words joined by single spaces: `normalise(answer)`

    def against(self, start: int, stop: int) -> bool:
        """Whether a negation governs words [start, stop) or stands among them ("threads do
        not run in parallel" holds "threads run in parallel", negated)."""
        return any(self.negated[start:stop]) or not _CUES.isdisjoint(self.words[start:stop])

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
    negated: list[bool] = []
    sentence: list[int] = []
    cache = _stems
    current = 0
    parts = _MARK.split(fold(raw))
    for n in range(0, len(parts), 2):  # a clause's text, then the mark that ends it
        clause = _WORD.findall(parts[n])
        if clause:
            words += clause
            found = [cache.get(w) or _stem_if(w, vocabulary) for w in clause]
            stems += found
            if _CUES.isdisjoint(clause):
                negated += [False] * len(clause)
            else:
                negated += _scope(clause, found)
            sentence += [current] * len(clause)
        ends = n + 1 < len(parts) and not _SENTENCE_END.isdisjoint(parts[n + 1])
        if ends and sentence and sentence[-1] == current:
            current += 1
    offsets = tuple(accumulate([len(w) + 1 for w in words[:-1]], initial=0)) if words else ()
    return Words(
        tuple(words), tuple(stems), tuple(negated), tuple(sentence), offsets, " ".join(words)
    )


def _stem_if(word: str, vocabulary: frozenset[str] | None) -> str:
    return stem(word) if vocabulary is None or word[:3] in vocabulary else word


def _scope(clause: list[str], stems: list[str]) -> list[bool]:
    """Which words of one clause (between punctuation marks) a negation governs."""
    negated = [False] * len(clause)
    start = 0  # the first word of the current clause ("but", "because" ... start another)
    scope = 0  # words still governed by the last negation (-1: to the end of the clause)
    cue_at = -1  # the current clause's last negation cue
    for at, (word, s) in enumerate(zip(clause, stems, strict=True)):
        role = _ROLES.get(word, 0)
        if role == _CLAUSE or (
            cue_at >= 0
            and ((role == _SCOPE_VERB and at > cue_at + 1) or (role == _AND and at > cue_at + 2))
        ):
            scope, start, cue_at = 0, at, -1
        if scope and at == cue_at + 1 and s in _NOT_NEGATING:
            scope = 0  # "not only", "not just": no negation after all
        negated[at] = scope != 0
        if scope > 0:
            scope -= 1
        if role == _NEGATION or (role == _LONGER and at and clause[at - 1] == "no"):
            scope, cue_at = -1, at
        elif role == _SHORT_NEGATION and scope == 0:
            scope = _SHORT_SCOPE
        elif cue_at >= 0 and at - cue_at <= 2 and s in _DISMISSALS:
            for i in range(start, cue_at):  # "X isn't needed": X is negated too
                negated[i] = True
    return negated


@dataclass(frozen=True, slots=True)
class Phrase:
    """A key phrase, ready to find: its normalised text, stems and content stems."""

    text: str
    stems: tuple[str, ...]
    content: tuple[str, ...]  # stems of its words that are not stop words
    negative: bool  # the phrase itself holds a negation ("no clause matched")


def phrase(text: str) -> Phrase:
    """A phrase from the bank's text (folded, split into words, stemmed)."""
    words = _WORD.findall(fold(text))
    stems = tuple(stem(w) for w in words)
    negative = any(is_negation(w) or w in _POLAR for w in words)
    content = tuple(
        s for w, s in zip(words, stems, strict=True)
        if w not in STOPWORDS or w in _POLAR or is_negation(w)
    )  # fmt: skip
    return Phrase(" ".join(words), stems, content, negative)


def prefixes(stems: Iterable[str]) -> frozenset[str]:
    """The vocabulary for `read`: the first three letters of `stems`, and of the words the
    negation rules look at."""
    return frozenset(s[:3] for s in stems) | LEXICON


Span = tuple[int, int]  # words [start, stop) of an answer


def find(p: Phrase, answer: Words, threshold: float) -> list[Span]:
    """Where phrase `p` occurs in `answer`, as word spans.

    A short single term (4 characters or fewer, e.g. "GIL", "429") only as a whole word; a
    phrase of one content word by its stem; a longer one by its content stems in order, with
    at most one other content word between them (two for four or more), or else fuzzily on
    the text (rapidfuzz, for typos) within whole words.
    """
    if not p.stems:
        return []
    stems = answer.stems
    if len(p.stems) == 1 or len(p.content) <= 1:
        seq = p.stems if len(p.content) == 0 or len(p.stems) <= 1 else p.content
        found = _contiguous(seq, stems)
        if found or len(p.text) <= SHORT_TERM_MAX:
            return found
        return _fuzzy(p, answer, threshold)
    found = _in_order(p.content, answer, 1 if len(p.content) <= 3 else 2)
    return found or _fuzzy(p, answer, threshold)


def _contiguous(seq: tuple[str, ...], stems: tuple[str, ...]) -> list[Span]:
    first, n = seq[0], len(seq)
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
            elif words[k] not in STOPWORDS or words[k] in _POLAR:
                left -= 1
                if left < 0:
                    break
            k += 1
        if j == len(content):
            found.append((i, k))
    return found


def _fuzzy(p: Phrase, answer: Words, threshold: float) -> list[Span]:
    """The old matcher: rapidfuzz partial_ratio on the text, widened to whole words."""
    text, target = answer.text, p.text
    if len(target) <= SHORT_TERM_MAX:
        return []
    numbers = {w for w in target.split() if any(c.isdigit() for c in w)}
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
        if fuzz.ratio(target, window, score_cutoff=threshold) >= threshold and (
            numbers <= set(window.split())  # numbers must be exact: 300 is not 0
        ):
            found.append((answer.at_offset(start), answer.at_offset(end - 1) + 1))
        offset = max(end, first + 1)
    return found


@dataclass(frozen=True, slots=True)
class Claim:
    """A statement to spot as a whole (a choice's text): its content stems, weighted."""

    text: str
    weights: dict[str, float]
    total: float


def claim(
    text: str, common: frozenset[str] = frozenset(), shared: frozenset[str] = frozenset()
) -> Claim | None:
    """A claim from a choice's text, or None when too little of it can be told apart ("3").

    Stems in `shared` (the right choice's, for a wrong one) weigh nothing: saying them tells
    nothing. Stems in `common` (the prompt's) weigh half: a learner repeats them whatever they
    think. A claim needs the weight of two words of its own.
    """
    p = phrase(text)
    weights: dict[str, float] = {}
    for s in dict.fromkeys(p.content):
        if s not in shared:
            weights[s] = 0.5 if s in common else 1.0
    total = sum(weights.values())
    if total < 2.0:
        return None
    return Claim(text, weights, total)


Sentences = list[tuple[frozenset[str], frozenset[str]]]


def sentence_stems(answer: Words) -> Sentences:
    """Per sentence: (the stems said plainly, every stem including negated ones)."""
    plain: list[set[str]] = [set() for _ in range(answer.sentences)]
    every: list[set[str]] = [set() for _ in range(answer.sentences)]
    for s, neg, at in zip(answer.stems, answer.negated, answer.sentence, strict=True):
        every[at].add(s)
        if not neg:
            plain[at].add(s)
    return [(frozenset(p), frozenset(e)) for p, e in zip(plain, every, strict=True)]


def coverage(c: Claim, sentences: Sentences) -> tuple[float, float]:
    """The best share of `c`'s weight said within one sentence: (plainly, negated included)."""
    best, best_any = 0.0, 0.0
    for plain, every in sentences:
        best = max(best, sum(w for s, w in c.weights.items() if s in plain))
        best_any = max(best_any, sum(w for s, w in c.weights.items() if s in every))
    return best / c.total, best_any / c.total
