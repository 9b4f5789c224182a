"""The GIFT export read back the way Moodle reads it (tests/fakes/moodle_gift.py, a port of
Moodle's importer): names, options, feedback and categories come back as written."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.bank.exporters import to_gift
from bot.core.bank.questions import MAX_CHOICE, AnswerChoice, KeyPoint, Question
from tests.fakes.moodle_gift import read_gift

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _question(right: str, wrong: str = "A wrong option", why: str = "Because.") -> Question:
    return Question(
        id="gift-q-1",
        topic="gift",
        difficulty=1,
        prompt="Which one?",
        choices=(AnswerChoice(wrong, False, why), AnswerChoice(right, True)),
        explanation="An explanation.",
        model_answer="One. Two.",
        key_points=(KeyPoint("point", ("phrase",)),),
        references=("https://example.com/",),
    )


def _read_back(question: Question, title: str = "Gift") -> tuple[str, str, str, str]:
    """(right option, wrong option, its feedback, general feedback) as Moodle shows them."""
    (read,) = read_gift(to_gift([question], {question.topic: title}))
    assert read.name == question.id
    assert [a.fraction for a in read.answers] == [0.0, 1.0]
    wrong, right = read.answers
    return (
        right.text.shown(),
        wrong.text.shown(),
        wrong.feedback.shown(),
        read.general_feedback.shown(),
    )


def test_a_backslash_before_n_stays_two_characters() -> None:
    # the export wrote "\\n" (an escaped backslash, then n); reading "\n" first made it a
    # backslash and a line break
    assert _read_back(_question("print('a\\nb')"))[0] == "print('a\\nb')"


def test_html_in_an_option_is_shown_not_rendered() -> None:
    # options inherit the question's [html] format in Moodle: "&lt;img" must stay visible
    shown = _read_back(_question("&lt;img ...&gt;: escaped", wrong="The raw <img> tag"))
    assert shown[:2] == ("&lt;img ...&gt;: escaped", "The raw <img> tag")


def test_an_option_that_looks_like_a_format_or_a_weight_stays_text() -> None:
    right, wrong, _, _ = _read_back(_question("[plain] is a GIFT format", wrong="%50% of it"))
    assert (right, wrong) == ("[plain] is a GIFT format", "%50% of it")


def test_category_names_keep_slashes_and_colons() -> None:
    text = to_gift([_question("x")], {"gift": "CI/CD: deploys"})
    (read,) = read_gift(text)
    assert read.category == ["$course$", "Stackprep", "CI/CD: deploys"]


# What the validator lets through as a choice text, a why or an explanation: stripped,
# non-empty. NUL is left out: PHP's trim() drops it at either end, and no HTML page can
# show it (the HTML parser replaces it).
field_text = (
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), max_size=200)
    .map(str.strip)
    .filter(bool)
)


@FAST
@given(right=field_text.map(lambda t: t[:MAX_CHOICE].strip()).filter(bool), wrong=field_text,
       why=field_text)  # fmt: skip
@example(right="a\\nb", wrong="b\\", why="\\#")
@example(right="\\\\n \\: {}", wrong="#=~", why="&&035; &amp;")
@example(right="[html]x", wrong="%10%y", why="[markdown] z")
def test_any_choice_text_round_trips(right: str, wrong: str, why: str) -> None:
    if right.casefold() == wrong.casefold():
        wrong += " (wrong)"
    question = _question(right, wrong, why)
    assert _read_back(question) == (right, wrong, why, question.explanation)


@FAST
@given(explanation=field_text)
def test_any_explanation_round_trips(explanation: str) -> None:
    question = replace(_question("right"), explanation=explanation)
    assert _read_back(question)[3] == explanation
