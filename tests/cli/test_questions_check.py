"""`stackprep questions check` prints the grader's warnings (issue 20) and the giveaways (issue
21) and still passes; with --strict, a warning fails the check."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.core.bank.question_bank import MIN_PHRASINGS
from tests.core.bank.test_giveaways import PLAIN, Q, spread, write_topic
from tests.core.bank.test_grading_warnings import MISCONCEPTION, write_bank
from tests.fakes.paths import TEST_BANK


def test_questions_check_prints_warnings_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["questions", "check", str(TEST_BANK)]) == 0
    lines = capsys.readouterr().out.splitlines()
    thin = "warning: alpha.toml: alpha-one: key point 'len built-in' has 2 phrasing(s); give it"
    assert f"{thin} at least {MIN_PHRASINGS}" in lines
    longest = "warning: alpha.toml: the right option is the uniquely longest in 2 of 3 questions"
    assert any(line.startswith(longest) for line in lines)  # a giveaway, from issue 21
    assert sum(line.startswith("warning: ") for line in lines) == 16
    assert lines[-1] == f"OK: 5 questions in 2 topics ({TEST_BANK}), 16 warning(s)"
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


def test_strict_fails_on_a_giveaway_with_a_one_line_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    longer = ("Choice one says a plain thing, at length", *PLAIN[1:])
    longest_twice = [Q(0, choices=longer), Q(1, choices=longer), *spread(4)[2:]]
    bank = write_topic(tmp_path / "bank", "web", longest_twice)
    assert main(["questions", "check", str(bank)]) == 0  # plain check: warnings pass
    plain = capsys.readouterr().out.splitlines()
    assert plain[-1] == f"OK: 4 questions in 1 topics ({bank}), 1 warning(s)"
    assert main(["questions", "check", "--strict", str(bank)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == plain[:-1]
    assert lines[0].startswith("warning: web.toml: the right option is the uniquely longest")
    assert lines[-1] == f"1 warning(s) in {bank}; --strict counts them as problems"


def test_strict_passes_a_clean_bank_and_still_fails_on_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = write_topic(tmp_path / "clean", "good", spread(8))
    assert main(["questions", "check", "--strict", str(clean)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"OK: 8 questions in 1 topics ({clean})"]
    broken = tmp_path / "good.toml"
    broken.write_text((clean / "good.toml").read_text().replace("correct = true", "", 1))
    assert main(["questions", "check", "--strict", str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "good.toml: good-0: needs exactly one right choice, has 0" in lines
    assert lines[-1] == f"2 problem(s) in {broken}"  # and its 'why' is missing
