"""`questions check` warnings (issue 20): what keeps the free-text grader from its best, short
of an error: a key point with fewer than three phrasings, a question with no misconception."""

from __future__ import annotations

from pathlib import Path

from bot.core.bank.question_bank import MIN_PHRASINGS, check_directory, grading_warnings
from tests.fakes.paths import TEST_BANK

READY = """
topic = "gamma"
title = "Gamma topic"

[[questions]]
id = "gamma-one"
difficulty = 1
prompt = "Which HTTP status says a resource was created?"
explanation = "201 Created, with a Location header naming the new resource."
model_answer = "The server answers 201 Created. It names the new resource in the Location header."
references = ["https://www.rfc-editor.org/rfc/rfc9110#name-201-created"]

[[questions.choices]]
text = "201 Created"
correct = true

[[questions.choices]]
text = "200 OK"
why = "200 is a generic success; 201 says something was created."

[[questions.choices]]
text = "204 No Content"
why = "204 says there is no body, not that something was created."

[[questions.key_points]]
point = "201 Created"
phrases = ["201 Created", "status 201", "201"]

[[questions.key_points]]
point = "Location header"
phrases = ["Location header", "location of the new resource", "names the new resource"]
{misconceptions}"""
MISCONCEPTION = """
[[questions.misconceptions]]
phrases = ["200 OK is right", "always 200"]
feedback = "200 is a generic success; 201 says something was created."
"""


def write_bank(folder: Path, misconceptions: str) -> Path:
    folder.mkdir()
    (folder / "gamma.toml").write_text(READY.format(misconceptions=misconceptions))
    return folder


def test_a_ready_question_has_no_warning(tmp_path: Path) -> None:
    _, questions, issues = check_directory(write_bank(tmp_path / "bank", MISCONCEPTION))
    assert (len(questions), issues) == (1, [])
    assert grading_warnings(questions) == []


def test_thin_phrasings_and_missing_misconceptions_are_warned(tmp_path: Path) -> None:
    _, questions, issues = check_directory(TEST_BANK)
    assert issues == []
    warnings = grading_warnings(questions)
    assert (
        "alpha.toml: alpha-one: key point '__len__ protocol' has 1 phrasing(s); give it at "
        f"least {MIN_PHRASINGS}"
    ) in warnings
    assert (
        "beta.toml: beta-two: no misconception; add a [[questions.misconceptions]] with the "
        "phrases of a common wrong answer"
    ) in warnings
    assert sum("no misconception" in w for w in warnings) == len(questions)
    _, ready, _ = check_directory(write_bank(tmp_path / "bank", ""))
    assert grading_warnings(ready) == [
        "gamma.toml: gamma-one: no misconception; add a [[questions.misconceptions]] with the "
        "phrases of a common wrong answer"
    ]
