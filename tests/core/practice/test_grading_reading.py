"""The grader's reading of an answer, second round (issue 20, the question bank's reviewers):
negation by "no"/"nothing", contrast ("rather than", "instead of", "without"), the words that
carry a phrase's meaning, exact code identifiers and the reach of a negation. Each test holds
at least one case the grader got wrong before."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.core.bank.questions import AnswerChoice, KeyPoint, Misconception, Question
from bot.core.practice.grading import GradingRules, find_phrase, grade, normalise
from bot.core.practice.matching import HARD, KEPT, PLAIN, SOFT, phrase, read, stem, tokens
from tests.core.properties import ANY_TEXT, PROPERTIES

RULES = GradingRules()


def question(
    key_points: tuple[KeyPoint, ...],
    misconceptions: tuple[Misconception, ...] = (),
    choices: tuple[AnswerChoice, ...] = (
        AnswerChoice("Right", True),
        AnswerChoice("Wrong", False, "No."),
    ),
    qid: str = "reading-test",
) -> Question:
    return Question(
        id=qid,
        topic="testing",
        difficulty=2,
        prompt="What happens here?",
        choices=choices,
        explanation="Because.",
        model_answer="The model answer says something else entirely about this code.",
        key_points=key_points,
        references=("https://example.org/",),
        misconceptions=misconceptions,
    )


TRACEBACK = question(
    (KeyPoint("a 500 page is served", ("500", "server error page")),),
    (
        Misconception(("traceback is shown", "shows a traceback"), "DEBUG is off."),
        Misconception(("the error is logged",), "Nothing is logged by default."),
    ),
    qid="reading-traceback",
)


@pytest.mark.parametrize(
    "text",
    [
        "No traceback is shown; the user gets a plain 500 page.",
        "With DEBUG off no traceback is shown, only a bare 500 server error page.",
        "Nothing like a traceback is shown; the visitor just sees a 500 page.",
        "It never shows any traceback, the visitor sees a 500 page instead.",
        "A traceback is never shown to anyone, the visitor sees a 500 page.",
        "The browser gets a 500 page without a traceback shown anywhere on it.",
    ],
)
def test_no_nothing_never_and_without_negate_a_misconception(text: str) -> None:
    result = grade(TRACEBACK, text)
    assert result.misconceptions == ()
    assert result.points[0].hit


def test_a_plain_statement_of_the_misconception_is_still_caught() -> None:
    result = grade(TRACEBACK, "The traceback is shown to the visitor along with a 500 page.")
    assert result.misconceptions == ("DEBUG is off.",)
    # "no" as an interjection, and "no-" in a compound word, negate nothing
    assert grade(TRACEBACK, "No it shows a traceback, and the 500 goes out.").misconceptions
    result = grade(TRACEBACK, "A no-frills 500 page comes back and the error is logged.")
    assert result.misconceptions == ("Nothing is logged by default.",)


RETRIES = question(
    (KeyPoint("retries three times", ("three retries", "retries it three times")),),
    (
        Misconception(
            ("retries any failed task", "any error is logged"), "Only with autoretry_for."
        ),
    ),
    (
        AnswerChoice("The worker retries it three times", True),
        AnswerChoice("Celery retries any failed task automatically", False, "Not by default."),
    ),
    qid="reading-retries",
)


@pytest.mark.parametrize(
    "text",
    [
        "No error of any kind is logged; three retries happen here.",
        "Nothing retries any failed task automatically; three retries happen here.",
        "At no point does Celery retry any failed task automatically; three retries here.",
        "Celery never retries any failed task on its own; it retries it three times here.",
        "Celery never automatically retries any failed task; three retries happen here.",
    ],
)
def test_never_and_no_with_any_claim_nothing(text: str) -> None:
    result = grade(RETRIES, text)
    assert result.misconceptions == ()
    assert result.points[0].hit


HATEOAS = question(
    (KeyPoint("responses carry links", ("links in the response", "hypermedia links")),),
    (Misconception(("build the urls",), "Clients follow links, not templates."),),
    (
        AnswerChoice("Responses carry links to the next actions", True),
        AnswerChoice(
            "Clients build every URL from a documented template",
            False,
            "That is what HATEOAS avoids: the server sends the links.",
        ),
    ),
    qid="reading-hateoas",
)


@pytest.mark.parametrize(
    "text",
    [
        "The client follows the links in the response rather than building URLs from a template.",
        "Instead of building every URL from a documented template, clients use the links in "
        "the response.",
        "Clients use the hypermedia links instead of having to build the URLs from a template.",
    ],
)
def test_rather_than_and_instead_of_do_not_claim_what_they_reject(text: str) -> None:
    result = grade(HATEOAS, text)
    assert result.misconceptions == ()
    assert result.points[0].hit


def test_what_rather_than_rejects_is_no_hit_and_no_contradiction() -> None:
    result = grade(HATEOAS, "Clients build the URLs rather than reading links in the response.")
    assert not result.points[0].hit
    assert result.negated == ()
    assert result.misconceptions  # what it does claim still counts


STORES = question(
    (
        KeyPoint("several small stores", ("several small stores", "modular stores")),
        KeyPoint("expand and contract", ("remove full_name only", "keep the old field")),
    ),
    (Misconception(("one store with nested modules",), "Pinia favours small stores."),),
    qid="reading-stores",
)


def test_a_fronted_contrast_ends_where_the_main_clause_starts() -> None:
    # "Instead of Y you do X": Y is rejected, X is said
    result = grade(
        STORES, "Instead of one store with nested modules you define several small stores."
    )
    assert result.points[0].hit
    assert result.misconceptions == ()


def test_a_negated_subject_does_not_dismiss_what_comes_before_it() -> None:
    # "no client needs it" negates "client", not the "remove full_name only" before it
    text = "Add the new field first, then remove full_name only once logs show no client needs it."
    result = grade(STORES, text)
    assert result.points[1].hit
    assert result.negated == ()


BEFORE_AFTER = question(
    (
        KeyPoint("the task runs after the commit", ("after the commit", "once committed")),
        KeyPoint("write-through cache", ("write-through",)),
        KeyPoint("only the first call queries", ("only the first call",)),
        KeyPoint("every call hits the database", ("every call hits",)),
        KeyPoint("the same connection", ("the same connection",)),
        KeyPoint("still running", ("still running",)),
    ),
    qid="reading-before-after",
)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("The task runs before the commit, inside the transaction block.", 0),
        ("It is a write-back cache: each write goes to the cache, later to the database.", 1),
        ("The first call queries, and so does every call after it, five queries in all.", 2),
        ("A call hits the database once, then the cached value answers each later request.", 3),
        ("Each request borrows a connection from the pool, a different one every time.", 4),
        ("The worker is running the job now and the logs show its progress clearly.", 5),
    ],
)
def test_words_that_carry_a_phrases_meaning_are_kept(text: str, point: int) -> None:
    assert not grade(BEFORE_AFTER, text).points[point].hit


def test_phrases_with_their_meaning_words_still_match_their_forms() -> None:
    text = (
        "It runs after the transaction is committed; it writes through to the cache on each "
        "write; only the first call hits the database (every call hitting it is the bug); "
        "all queries share the same pooled connection; the old worker is still running."
    )
    assert [p.hit for p in grade(BEFORE_AFTER, text).points] == [True, True, True, True, True, True]


GENERIC = question(
    (
        KeyPoint("set it first", ("the first one",)),
        KeyPoint("the cursor is named", ("named cursor", "server-side cursor")),
        KeyPoint("the first hasher hashes", ("first entry", "20 at once", "DEBUG off")),
    ),
    qid="reading-generic",
)


def test_a_phrase_of_one_generic_word_needs_its_whole_wording() -> None:
    result = grade(GENERIC, "First of all, a server-side cursor is what iterator() opens.")
    assert [p.hit for p in result.points] == [False, True, False]
    result = grade(GENERIC, "Put the first one on top, then a server-side cursor is fine.")
    assert [p.hit for p in result.points] == [True, True, False]


@pytest.mark.parametrize(
    "text",
    [
        "Django checks it with the matching entry from the list and moves on.",
        "About 20 requests pass and the rest wait for the refill to happen.",
        "With DEBUG on Django shows the page with its local variables.",
    ],
)
def test_a_phrase_does_not_shrink_to_a_word_said_in_passing(text: str) -> None:
    # "first entry" is not any "entry", "20 at once" not any "20", "DEBUG off" not any "DEBUG"
    assert not grade(GENERIC, text).points[2].hit


DUNDER = question(
    (
        KeyPoint("async with uses __aenter__", ("__aenter__",)),
        KeyPoint("with uses __enter__", ("__enter__",)),
    ),
    qid="reading-dunder",
)


@pytest.mark.parametrize(
    ("phrase", "answer", "found"),
    [
        ("__aenter__", "the class defines __enter__ and __exit__ only", False),
        ("__enter__", "the class defines __aenter__ and __aexit__ only", False),
        ("__aenter__ and __aexit__", "it defines __enter__ and __exit__ instead", False),
        ("call_soon_threadsafe", "use loop.call_soon_threadsafe here", True),
        ("call_soon_threadsafe", "use loop.call_soon here", False),
        ("global interpreter lock", "the global interpretr lock holds", True),  # prose: typos
    ],
)
def test_code_identifiers_match_exactly(phrase: str, answer: str, found: bool) -> None:
    assert (find_phrase(phrase, normalise(answer), RULES) is not None) is found


@pytest.mark.parametrize(
    ("phrase", "answer"),
    [
        # a near match that only adds or drops a negation, or a negating prefix, is the
        # opposite, not a typo (found by the bank's phrasing writers)
        ("no prebuilt wheel", "there is a prebuilt wheel for it"),
        ("error is not swallowed", "the error is swallowed"),
        ("mutations aren't needed", "mutations are needed"),
        ("sync endpoint", "an async endpoint"),
        ("unprivileged user", "run it as a privileged user"),
        ("case-insensitive lookup", "a case-sensitive lookup"),
    ],
)
def test_a_near_match_that_flips_the_meaning_is_no_match(phrase: str, answer: str) -> None:
    assert find_phrase(phrase, normalise(answer), RULES) is None


@pytest.mark.parametrize(
    ("phrase", "answer"),
    [
        ("no prebuilt wheel", "there is no prebuit wheel"),
        ("cooperative multitasking", "it is cooperativ multitasking"),
        ("unprivileged user", "as an unpriviledged user"),
    ],
)
def test_typos_still_match(phrase: str, answer: str) -> None:
    assert find_phrase(phrase, normalise(answer), RULES) is not None


def test_a_dunder_answer_hits_only_its_own_point() -> None:
    result = grade(DUNDER, "A plain context manager only defines __enter__ and __exit__ methods.")
    assert [p.hit for p in result.points] == [False, True]


VIEW = question(
    (
        KeyPoint("views must return a response", ("return an HttpResponse", "missing return")),
        KeyPoint("missing return causes ValueError", ("ValueError", "returns None")),
    ),
    qid="reading-view",
)


@pytest.mark.parametrize(
    "text",
    [
        "The view doesn't return it, so it returns None and Django raises an error.",
        "render() is called but its result is not returned, so the view returns None.",
        "The view cannot return it, since the view returns None on that branch.",
    ],
)
def test_a_negation_stays_in_its_comma_clause(text: str) -> None:
    result = grade(VIEW, text)
    assert result.points[1].hit
    assert result.negated == ()


MISS = question(
    (
        KeyPoint("get() returns None on a miss too", ("None on a miss", "cannot tell")),
        KeyPoint("use a sentinel", ("sentinel", "not-found marker")),
    ),
    qid="reading-miss",
)


@pytest.mark.parametrize(
    "text",
    [
        "The code cannot tell a stored None from a miss, so use a sentinel default.",
        "The check gets None on a miss for a not-found key too; a sentinel default fixes it.",
        "A not-found coupon returns None, which looks like None on a miss; use a sentinel.",
        "For a not-found key the call returns None on a miss as well; use a sentinel.",
    ],
)
def test_cannot_and_not_found_do_not_negate_what_they_do_not_govern(text: str) -> None:
    result = grade(MISS, text)
    assert [p.hit for p in result.points] == [True, True]
    assert result.negated == ()


def test_a_real_negation_of_the_point_is_still_reported() -> None:
    result = grade(MISS, "get() does not give None on a miss here; a sentinel is not needed.")
    assert result.negated == ("get() returns None on a miss too", "use a sentinel")


REVERSE = question(
    (
        KeyPoint("RunPython needs reverse_code", ("reverse_code", "reverse function")),
        KeyPoint("otherwise IrreversibleError", ("IrreversibleError", "irreversible")),
    ),
    qid="reading-reverse",
)


@pytest.mark.parametrize(
    "text",
    [
        "Without a reverse_code it is irreversible, so the rollback stops with an error.",
        "Without a reverse function, the migration is irreversible and migrate stops there.",
        "RunPython without reverse_code is irreversible: migrating back raises an error.",
    ],
)
def test_without_states_a_condition_not_a_contradiction(text: str) -> None:
    result = grade(REVERSE, text)
    assert result.negated == ()
    assert result.points[1].hit


def test_a_clause_opening_without_names_what_is_needed() -> None:
    result = grade(REVERSE, "Without a reverse_code it is irreversible and raises an error.")
    assert [p.hit for p in result.points] == [True, True]


def test_read_tells_hard_and_soft_negation_apart() -> None:
    words = read("No traceback is shown; it runs without a lock rather than with one.")
    levels = dict(zip(words.words, words.negated, strict=True))
    assert levels["traceback"] == levels["shown"] == HARD
    assert levels["lock"] == SOFT and levels["one"] == SOFT
    assert levels["runs"] == 0
    not_found = read("A not-found key and a no-op step both return None.")
    assert not any(not_found.negated)


# Property-based: the tokenizer and the negation parser, on any text and on prose made of
# the words they treat specially.
CUES = ["not", "never", "no", "nothing", "nobody", "none", "without", "instead of",
        "rather than", "cannot", "isn't", "no longer", "not-found", "no-op", "with no"]  # fmt: skip
PLAIN_WORDS = ["the", "view", "returns", "none", "is", "shown", "a", "lock", "it", "and", "so",
               "before", "after", "commit", "only", "first", "__enter__", "write-through", "but",
               "because", "means", "traceback", "get", "an", "error"]  # fmt: skip
PROSE = st.lists(st.sampled_from(CUES + PLAIN_WORDS), max_size=25).map(" ".join)
PLAIN_PROSE = st.lists(st.sampled_from(PLAIN_WORDS), min_size=1, max_size=12).map(" ".join)
TEXTS = st.one_of(ANY_TEXT, PROSE)


@PROPERTIES
@given(text=TEXTS)
def test_tokens_are_the_words_read(text: str) -> None:
    # the gates look at `tokens`, before the answer is read: the same words
    words = read(text)
    assert tokens(text) == list(words.words)
    assert set(words.negated) <= {PLAIN, SOFT, HARD}


@PROPERTIES
@given(before=TEXTS, after=PROSE)
def test_a_negation_never_reaches_past_a_full_stop(before: str, after: str) -> None:
    alone = read(after)
    joined = read(f"{before}. {after}")
    assert joined.negated[len(joined.words) - len(alone.words) :] == alone.negated


@PROPERTIES
@given(before=PROSE, after=PLAIN_PROSE, mark=st.sampled_from([",", ";", ":", " -", "!", "\n"]))
def test_a_negation_never_reaches_past_a_clause_mark(before: str, after: str, mark: str) -> None:
    # "the view doesn't return it, so it returns None": nothing after the comma is negated
    words = read(f"{before}{mark} {after}")
    n = len(tokens(after))
    assert not any(words.negated[len(words.words) - n :])


@PROPERTIES
@given(words=st.lists(st.sampled_from(PLAIN_WORDS + sorted(KEPT)), min_size=1, max_size=6))
def test_a_phrase_keeps_the_words_that_carry_its_meaning(words: list[str]) -> None:
    found = phrase(" ".join(words))
    for word in words:
        if word in KEPT:
            assert stem(word) in found.content


@PROPERTIES
@given(
    one=st.from_regex(r"\A__[a-z]{2,10}__\Z"),
    other=st.from_regex(r"\A__[a-z]{2,10}__\Z"),
    context=PLAIN_PROSE,
)
def test_a_code_identifier_matches_only_itself(one: str, other: str, context: str) -> None:
    assume(one != other)
    answer = normalise(f"{context} {other} {context}")
    assert find_phrase(one, answer, RULES) is None
    assert find_phrase(one, normalise(f"{context} {one}"), RULES) is not None
