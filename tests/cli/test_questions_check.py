"""`stackprep questions check` prints the grader's warnings (issue 20) and still passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.core.bank.question_bank import MIN_PHRASINGS
from tests.core.bank.test_grading_warnings import MISCONCEPTION, write_bank
from tests.fakes.paths import TEST_BANK


def test_questions_check_prints_warnings_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["questions", "check", str(TEST_BANK)]) == 0
    lines = capsys.readouterr().out.splitlines()
    thin = "warning: alpha.toml: alpha-one: key point 'len built-in' has 2 phrasing(s); give it"
    assert f"{thin} at least {MIN_PHRASINGS}" in lines
    assert sum(line.startswith("warning: ") for line in lines) == 15
    assert lines[-1] == f"OK: 5 questions in 2 topics ({TEST_BANK}), 15 warning(s)"
    ready = write_bank(tmp_path / "bank", MISCONCEPTION)
    assert main(["questions", "check", str(ready)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"OK: 1 questions in 1 topics ({ready})"]


def test_warnings_come_with_problems_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "beta.toml"
    broken.write_text((TEST_BANK / "beta.toml").read_text().replace("correct = true", "", 1))
    assert main(["questions", "check", str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "beta.toml: beta-one: needs exactly one right choice, has 0" in lines
    assert lines[-1] == f"2 problem(s) in {broken}, 3 warning(s)"  # beta-two still warned
