"""Which words of an answer a negation governs, and how firmly (pure: the grader's reading of
polarity, used by bot/core/practice/matching.py).

Negation is scoped to its clause, and comes in two strengths. HARD: "not", "never", "n't"
(with or without the apostrophe: "isn't", "isnt"), "cannot", "neither", "nor", "no longer",
"no", "nothing" and "nobody" govern the words after them up to the end of the clause: a
punctuation mark, a word that starts another clause ("but", "because", "so", "which" ...), a
new verb ("anything not matched | is re-raised"; but a negated subject negates its verb: "no
traceback | is shown"), "means" ("no __slots__ means | a __dict__") or a new conjunct ("isn't
from the preferred hasher | and re-hashes"). A negated verb that dismisses its subject ("X
isn't needed", "switching to X wouldn't change anything") negates the words before it in the
clause too. "not only", "not just", "no matter", "no more than", an interjection ("No it
blocks") and a hyphenated compound ("not-found", "no-op") negate nothing. SOFT: "without"
governs the next three words and "instead of" / "rather than" the next four (a subject pronoun
or a new verb ends them sooner): what they set aside is neither claimed nor contradicted; a
"without" that opens a sentence or clause, or whose clause goes on to a verb, states a
condition and negates nothing ("Without a reverse_code it is irreversible").
"""

from __future__ import annotations

import re

WORD = re.compile(r"[0-9a-z_]+")
_CLAUSE_WORD_LIST = """but however although though whereas while because since so unless
except which then instead rather yet"""
_CLAUSE_WORDS = frozenset(_CLAUSE_WORD_LIST.split())
_NEGATION_LIST = """not never neither nor cannot isnt doesnt dont didnt wont cant arent wasnt
werent shouldnt wouldnt couldnt hasnt havent hadnt mustnt neednt aint"""
_NEGATION_WORDS = frozenset(_NEGATION_LIST.split())
# A negating determiner: "no traceback is shown", "nothing is logged". ("none" is not one
# here: it is Python's None far more often than "none of them".)
_NO_WORDS = frozenset({"no", "nothing", "nobody"})
# "no" that negates nothing: "no matter", "no doubt", "no more than 5" (with "than")
_NO_IDIOMS = frozenset({"matter", "doubt"})
_NO_COMPARATIVES = frozenset({"more", "less", "fewer", "later", "sooner", "earlier"})
# After a clause-opening "no", these make it an interjection ("No it blocks", "No, ...").
_NO_INTERJECTION_LIST = """it its the this that these those they we you i he she there
because but just actually wait yes not sorry"""
_NO_INTERJECTION = frozenset(_NO_INTERJECTION_LIST.split())
_CONTRASTS = {"instead": "of", "rather": "than"}  # "X instead of Y", "X rather than Y"
_SHORT_NEGATIONS = frozenset({"without"})
_SHORT_SCOPE = 3  # words governed by "without" ("instead of" and "rather than": 4 after "of")
# A subject pronoun starts the main clause after a fronted "Instead of Y" or "Without Y".
_SUBJECTS = frozenset({"i", "you", "we", "they", "he", "she", "it"})
# A new verb ends a negation's scope: "anything not matched | is re-raised".
_SCOPE_VERBS = frozenset({"is", "are", "was", "were", "gets", "get", "becomes"})
# Words that turn a phrase around: kept when a phrase is reduced to its content words.
POLAR = frozenset(
    {"no", "not", "never", "nor", "neither", "without", "instead", "rather", "nothing", "nobody"}
)
# A negated verb that dismisses its subject: "X isn't needed", "X doesn't matter", "X isn't
# relevant", "X isn't part of it", "X isn't an alternative" (stems).
_DISMISSAL_LIST = """need necessari requir matter help chang work appli exist happen true correct
relev import part altern involv applic"""
_DISMISSALS = frozenset(_DISMISSAL_LIST.split())
_NOT_NEGATING = frozenset({"onli", "just"})  # "not only", "not just"
# Stemmed whatever the question: the negation rules look at these stems.
LEXICON = frozenset(w[:3] for w in _DISMISSALS | _NOT_NEGATING)
_NT_FORMS = "do does did is are was were has have had would should could must need might ca wo"
# "no __slots__ means instances get a __dict__": what a negated subject means is not negated
_LINKS = frozenset({"means", "mean", "meaning", "implies"})
_CLAUSE, _SCOPE_VERB, _AND, _NEGATION, _LONGER, _SHORT_NEGATION, _NO, _CONTRAST, _LINK = range(
    1, 10
)
_ROLES = {
    **{w: _CLAUSE for w in _CLAUSE_WORDS},
    **{w: _SCOPE_VERB for w in _SCOPE_VERBS},
    "and": _AND,
    **{w: _NEGATION for w in _NEGATION_WORDS | {f"{w}nt" for w in _NT_FORMS.split()}},
    "longer": _LONGER,
    **{w: _SHORT_NEGATION for w in _SHORT_NEGATIONS},
    **{w: _NO for w in _NO_WORDS},
    **{w: _CONTRAST for w in _CONTRASTS},
    **{w: _LINK for w in _LINKS},
}
_CUE_ROLES = frozenset({_NEGATION, _LONGER, _SHORT_NEGATION, _NO, _CONTRAST})
CUES = frozenset(w for w, role in _ROLES.items() if role in _CUE_ROLES)
# A cue joined to the next word by a hyphen is part of a compound: "not-found", "no-op".
_COMPOUND = re.compile(r"(?<![0-9a-z_])(?:" + "|".join(sorted(CUES)) + r")-(?=[0-9a-z_])")

# How firmly a word is negated: PLAIN not at all; SOFT by "without", "instead of" or "rather
# than" (not claimed, but no contradiction either: "without a reverse_code it is
# irreversible"); HARD by "not", "never", "no" ... (the answer says the opposite).
PLAIN, SOFT, HARD = 0, 1, 2


def fold(text: str) -> str:
    """Casefold and drop apostrophes: "Don't" -> "dont"."""
    return text.casefold().replace("'", "").replace("’", "")


def is_negation(word: str) -> bool:
    """ "not", "never", "nor", "cannot", "isn't" or "isnt", "wouldn't" ..., "no", "nothing",
    "nobody" (a folded word)."""
    return _ROLES.get(word) in {_NEGATION, _NO}


def negative(text: str, contrast: bool = True) -> bool:
    """Whether a phrase or point says something negative ("not reversible", "no rollback";
    with `contrast` also "rather than return it", "without a lock"); a compound such as
    "no-op" or "not-found" does not."""
    words = WORD.findall(_COMPOUND.sub(" ", fold(text)))
    return any(is_negation(w) or (contrast and w in POLAR) for w in words)


def scope(clause: list[str], stems: list[str], text: str, opens: bool) -> list[int]:
    """How firmly a negation governs each word of one clause (`PLAIN`, `SOFT` or `HARD`):
    `clause` its words (from `text`, the clause as written), `stems` theirs; `opens`: the
    clause opens its sentence."""
    return _scope(clause, stems, _compounds(text), opens)


def _compounds(text: str) -> frozenset[int]:
    """Which words of a clause's text are cues joined to the next word by a hyphen."""
    if "-" not in text:
        return frozenset()
    at = {m.start() for m in _COMPOUND.finditer(text)}
    return (
        frozenset(i for i, m in enumerate(WORD.finditer(text)) if m.start() in at)
        if at
        else frozenset()
    )


def _role(clause: list[str], at: int, start: int) -> int:
    """The role of word `at` of a clause, read in context: "instead" is a contrast only
    before "of", "rather" only before "than"; "no" negates nothing in "no longer" (that is
    "longer"'s), "no matter", "no more than 5" or as an interjection ("No it blocks")."""
    word = clause[at]
    role = _ROLES.get(word, 0)
    if role != _CONTRAST and role != _NO:
        return role
    after = clause[at + 1] if at + 1 < len(clause) else ""
    if role == _CONTRAST:
        return _CONTRAST if after == _CONTRASTS[word] else _CLAUSE
    if word == "no" and at and clause[at - 1] == "with":
        return _SHORT_NEGATION  # "with no plugin" is "without a plugin"
    if word == "no" and (
        after in _NO_IDIOMS
        or after == "longer"
        or (after in _NO_COMPARATIVES and clause[at + 2 : at + 3] == ["than"])
        or (at == start and (not after or after in _NO_INTERJECTION))
    ):
        return 0
    return _NO


def _scope(clause: list[str], stems: list[str], compound: frozenset[int], opens: bool) -> list[int]:
    """How firmly a negation governs each word of one clause (between punctuation marks).
    `compound`: cues that are part of a hyphenated word; `opens`: the clause opens its
    sentence (so "Without X, ..." there states a condition, not an absence)."""
    negated = [PLAIN] * len(clause)
    start = 0  # the first word of the current clause ("but", "because" ... start another)
    scope = 0  # words still governed by the last negation (-1: to the end of the clause)
    level = PLAIN  # ... and how firmly
    cue_at = -1  # the current clause's last negation cue
    subject = False  # the cue negates the clause's subject: its verb is negated too
    verbal = False  # the cue negates a verb ("isn't needed"), so may dismiss its subject
    for at, (word, s) in enumerate(zip(clause, stems, strict=True)):
        role = 0 if at in compound else _role(clause, at, start)
        ends = role in (_CLAUSE, _CONTRAST) or (
            cue_at >= 0
            and (
                (role == _SCOPE_VERB and at > cue_at + 1 and not subject)
                or (role == _LINK and at > cue_at + 1)
                or (role == _AND and at > cue_at + 2)
            )
        )
        if ends:
            scope, start, cue_at, subject = 0, at, -1, False
        if scope and at == cue_at + 1 and s in _NOT_NEGATING:
            scope = 0  # "not only", "not just": no negation after all
        negated[at] = level if scope else PLAIN
        if scope > 0:
            scope -= 1
        if role == _NEGATION or (role == _LONGER and at and clause[at - 1] == "no"):
            scope, cue_at, level, subject, verbal = -1, at, HARD, False, True
        elif role == _NO:  # "no traceback is shown": the subject, and so its verb
            scope, cue_at, level, verbal = -1, at, HARD, False
            subject = at == start or (at == start + 1 and _ROLES.get(clause[start]) == _CLAUSE)
        elif role == _CONTRAST:  # "rather than Y", "instead of Y": Y is not claimed
            scope, cue_at, level, subject, verbal = _SHORT_SCOPE + 2, at, SOFT, False, False
        elif role == _SHORT_NEGATION and scope == 0 and not _condition(clause, at, start, opens):
            scope, cue_at, level, subject, verbal = _SHORT_SCOPE, at, SOFT, False, False
        elif verbal and cue_at >= 0 and at - cue_at <= 2 and s in _DISMISSALS:
            for i in range(start, cue_at):  # "X isn't needed": X is negated too
                negated[i] = HARD
        elif level == SOFT and word in _SUBJECTS:
            scope = 0  # "instead of one store you define ...": the main clause starts
    return negated


def _condition(clause: list[str], at: int, start: int, opens: bool) -> bool:
    """Whether "without" at `at` states a condition that names what is needed rather than an
    absence: it opens its sentence or a clause ("Without a reverse_code it is irreversible",
    "so without it ..."), or its clause goes on to a verb ("RunPython without reverse_code is
    irreversible", "a test with no plugin is an error"; but "it works without a lock")."""
    if (at == 0 and opens) or (at == start + 1 and _ROLES.get(clause[start]) == _CLAUSE):
        return True
    for word in clause[at + 1 :]:
        role = _ROLES.get(word, 0)
        if role == _SCOPE_VERB:
            return True
        if role in {_CLAUSE, _AND, _CONTRAST}:
            return False
    return False
