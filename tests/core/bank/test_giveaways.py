"""Giveaway warnings (issue 21 item 4): each rule fires on a small bad bank written to tmp_path
and stays quiet on a good one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.bank.giveaways import giveaway_warnings
from bot.core.bank.question_bank import check_directory, grading_warnings
from bot.core.bank.questions import Question

NOUNS = (
    "falcon", "granite", "harbour", "lantern", "meadow", "orchid", "quarry", "saddle",
    "tundra", "violin", "walnut", "yeast", "anchor", "bramble", "cobalt", "dolphin",
)  # fmt: skip
PROMPTS = (
    "Which header tells a cache that the response varies by language?",
    "What does a database index cost on every insert?",
    "Why would a worker process restart after a memory leak?",
    "When is a migration safe to run while traffic flows?",
    "How does a signed cookie differ from an encrypted one?",
    "What makes a retry of a payment request safe?",
    "Where should a secret key live in a twelve-factor app?",
    "Which test double records the calls made to it?",
    "What breaks when two replicas both run the same cron job?",
    "How can a slow page be traced to its queries?",
    "What does a reverse proxy add in front of an app server?",
    "Why does a long transaction block a schema change?",
)
# Four options of one length: none is the longest, none hedged.
PLAIN = ("Choice one says a plain thing", "Choice two says a plain thing",
         "Choice three says one thing", "Choice four says one thing")  # fmt: skip


@dataclass
class Q:
    """One question of a test bank; `n` picks its prompt and the noun of its key points."""

    n: int
    right: int = 0
    choices: Sequence[str] = PLAIN
    points: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)

    def toml(self, topic: str) -> str:
        noun = NOUNS[self.n]
        points = self.points or (
            (f"{noun} rises", (f"{noun} rises", f"{noun} climbs", f"the {noun} goes up")),
            (f"{noun} settles", (f"{noun} settles", f"{noun} rests", f"the {noun} stays")),
        )
        answer = " ".join(f"The answer says {phrases[0]}." for _, phrases in points)
        lines = [
            "[[questions]]",
            f'id = "{topic}-{self.n}"',
            "difficulty = 1",
            f"prompt = {json.dumps(PROMPTS[self.n % len(PROMPTS)] + f' ({noun})')}",
            'explanation = "Because it is so."',
            f"model_answer = {json.dumps(answer)}",
            'references = ["https://docs.python.org/3/"]',
        ]
        for i, text in enumerate(self.choices):
            lines += ["[[questions.choices]]", f"text = {json.dumps(text)}"]
            lines.append("correct = true" if i == self.right else 'why = "It is not so."')
        for name, phrases in points:
            lines += ["[[questions.key_points]]", f"point = {json.dumps(name)}"]
            lines.append(f"phrases = {json.dumps(list(phrases))}")
        lines += ["[[questions.misconceptions]]", f'phrases = ["{noun} falls"]']
        lines.append('feedback = "It does not fall."')
        return "\n".join(lines) + "\n"


def write_topic(folder: Path, topic: str, questions: Sequence[Q]) -> Path:
    folder.mkdir(exist_ok=True)
    body = "\n".join(q.toml(topic) for q in questions)
    (folder / f"{topic}.toml").write_text(f'topic = "{topic}"\ntitle = "{topic}"\n\n{body}')
    return folder


def load(folder: Path) -> list[Question]:
    _, questions, issues = check_directory(folder)
    assert issues == []
    return questions


def spread(count: int) -> list[Q]:
    """`count` good questions, the right option moving over A-D."""
    return [Q(n, right=n % 4) for n in range(count)]


def test_a_good_bank_has_no_warning_at_all(tmp_path: Path) -> None:
    questions = load(write_topic(tmp_path / "bank", "good", spread(12)))
    assert len(questions) == 12
    assert grading_warnings(questions) == []
    assert giveaway_warnings(questions) == []


def test_the_right_option_uniquely_longest_in_over_a_quarter_of_a_topic(tmp_path: Path) -> None:
    longer = ("Choice one says a plain thing, at length", *PLAIN[1:])
    tied = ("Choice one says a plain thing", "Choice two says a plain thing", "Short", "Shorter")
    bad = [Q(0, choices=longer), Q(1, choices=longer), Q(2, right=2), Q(3, right=3)]
    assert giveaway_warnings(load(write_topic(tmp_path / "bad", "web", bad))) == [
        "web.toml: the right option is the uniquely longest in 2 of 4 questions (50%, more "
        "than 25%): web-0, web-1; lengthen a wrong option or shorten the right one"
    ]
    # A quarter is allowed, and a right option as long as a wrong one is not uniquely longest.
    fine = [Q(0, choices=longer), Q(1, choices=tied), Q(2, right=2), Q(3, right=3)]
    assert giveaway_warnings(load(write_topic(tmp_path / "fine", "web", fine))) == []


def test_the_right_option_alone_hedged_in_over_a_quarter_of_a_topic(tmp_path: Path) -> None:
    def hedge(right: str, wrong: str = "Choice two says a plain thing") -> tuple[str, ...]:
        return (right, wrong, *PLAIN[2:])

    usually = hedge("It usually says a plain thing")
    in_most = hedge("In most  cases it says one thing")  # any spacing
    both = hedge("It may say a plain thing", "It can say another thing")  # a wrong one too
    cannot = hedge("It can't say a plain thing")  # "can't" is no hedge
    bad = [Q(0, choices=usually), Q(1, choices=in_most), Q(2, right=2), Q(3, right=3)]
    assert giveaway_warnings(load(write_topic(tmp_path / "bad", "api", bad))) == [
        "api.toml: the right option is the only hedged one in 2 of 4 questions (50%, more "
        "than 25%): api-0, api-1; hedge a wrong option too or state the right one plainly"
    ]
    fine = [Q(0, choices=usually), Q(1, choices=both), Q(2, choices=cannot), Q(3, right=3)]
    assert giveaway_warnings(load(write_topic(tmp_path / "fine", "api", fine))) == []


def test_the_right_option_in_one_place_in_over_half_of_a_topic(tmp_path: Path) -> None:
    mostly_a = [Q(n, right=0 if n < 5 else n % 4) for n in range(8)]
    assert giveaway_warnings(load(write_topic(tmp_path / "bad", "orm", mostly_a))) == [
        "orm.toml: the right option is listed as choice A in 5 of 8 questions (62%, more than "
        "50%); spread it across the choices"
    ]
    third = [Q(n, right=2 if n < 5 else 0) for n in range(8)]
    found = giveaway_warnings(load(write_topic(tmp_path / "c", "orm", third)))
    assert [w.split(" questions ")[0] for w in found] == [
        "orm.toml: the right option is listed as choice C in 5 of 8"
    ]
    half = [Q(n, right=0 if n < 4 else 1 + n % 3) for n in range(8)]
    assert giveaway_warnings(load(write_topic(tmp_path / "half", "orm", half))) == []
    small = [Q(n, right=0) for n in range(7)]  # under 8 questions: position not judged
    assert giveaway_warnings(load(write_topic(tmp_path / "small", "orm", small))) == []


def test_options_of_dissimilar_length(tmp_path: Path) -> None:
    lopsided = (
        "It rejects requests whose Host header is not listed",
        "Never",
        "Always",
        "It lists the client addresses that may connect",
    )
    code = ("3", "None", "[1, 2, 3]", "TypeError")  # short code answers: alike enough
    wide = ("[1, 1]", "[1, ValueError('bad input'), 1]", "ValueError('bad') is raised", "[1]")
    questions = [Q(0, choices=lopsided, right=3), Q(1, choices=code, right=1),
                 Q(2, choices=wide, right=2), Q(3, right=3)]  # fmt: skip
    warnings = giveaway_warnings(load(write_topic(tmp_path / "bank", "mix", questions)))
    assert warnings == [
        "mix.toml: mix-0: options of dissimilar length (5 to 51 characters); make them alike "
        "so length gives nothing away"
    ]


def test_questions_sharing_key_points_are_named_in_pairs(tmp_path: Path) -> None:
    n_plus_one = (
        ("N+1 queries", ("n+1", "one more query per row", "51 queries")),
        ("select_related uses a JOIN", ("select_related", "a join", "joins the table")),
        ("prefetch_related for many", ("prefetch_related", "a second query", "in python")),
    )
    same_fact = (  # other words for two of the three points: stems and stop words aside
        ("recognise the N+1 problem", ("N+1", "a query per order", "201 queries")),
        ("select_related joins", ("select_related", "sql join", "JOINS the tables")),
        ("guard it with a test", ("assertNumQueries", "a test", "count the queries")),
    )
    one_shared = (  # one point of two: half, but one shared point is no duplicate
        ("select_related joins", ("select_related", "sql join", "one query")),
        ("reverse FK raises FieldError", ("FieldError", "reverse relation", "raises")),
    )
    folder = write_topic(tmp_path / "bank", "sql", [Q(0, points=n_plus_one), Q(1, right=1)])
    write_topic(folder, "role", [Q(2, points=same_fact, right=2), Q(3, points=one_shared)])
    assert giveaway_warnings(load(folder)) == [
        "sql.toml: sql-0: shares 2 key points with role-2 (role.toml): 'N+1 queries' ~ "
        "'recognise the N+1 problem', 'select_related uses a JOIN' ~ 'select_related joins'; "
        "do the two test the same fact?"
    ]


def test_two_shared_points_of_many_are_not_the_same_fact(tmp_path: Path) -> None:
    def points(noun: str) -> list[tuple[str, list[str]]]:
        shared = [("select_related joins", ["select_related", "sql join", "one join"]),
                  ("N+1 queries", ["n+1", "a query per row", "many queries"])]  # fmt: skip
        own = [(f"{noun} {verb}", [f"{noun} {verb}", f"{verb} {noun}", f"{noun} {verb} too"])
               for verb in ("rises", "settles", "turns")]  # fmt: skip
        return shared + own

    folder = write_topic(tmp_path / "bank", "orm", [Q(0, points=points("falcon"))])
    write_topic(folder, "perf", [Q(1, points=points("granite"))])
    assert giveaway_warnings(load(folder)) == []  # 2 of 5 points: under half


def test_points_sharing_single_words_only_are_not_the_same_fact(tmp_path: Path) -> None:
    """One word ("LCP", "CLS") is a subject's vocabulary: two questions may both use it."""
    lazy = (
        ("Not for the LCP image", ("LCP", "above the fold", "hero image")),
        ("Dimensions reserve space", ("CLS", "width and height", "reserve space")),
    )
    vitals = (
        ("LCP measures loading", ("LCP", "loading speed", "biggest element")),
        ("CLS measures stability", ("CLS", "visual stability", "layout shifts")),
    )
    folder = write_topic(tmp_path / "bank", "perf", [Q(0, points=lazy), Q(1, points=vitals)])
    assert giveaway_warnings(load(folder)) == []
    vitals = (vitals[0], ("CLS measures stability", ("CLS", "reserve space", "layout shifts")))
    write_topic(folder, "perf", [Q(0, points=lazy), Q(1, points=vitals, right=1)])
    assert [w.split(": ")[1] for w in giveaway_warnings(load(folder))] == ["perf-1"]
