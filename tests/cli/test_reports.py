"""`stackprep questions reports [--open]` and `stackprep questions resolve ID --note ...` over a
real SQLite file the bot wrote its reports to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.core.common.identity import ChatRef, Platform, UserRef
from tests.fakes.app import make_app
from tests.fakes.paths import TEST_BANK

GROUP = ChatRef(Platform.DISCORD, "5550", "777")


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STACKPREP_DATABASE_PATH", str(tmp_path / "stackprep.db"))
    monkeypatch.setenv("STACKPREP_QUIZ_QUESTIONS_DIR", str(TEST_BANK))
    return tmp_path


async def file_reports(folder: Path) -> None:
    """Four people report alpha-one (one with a note), one reports beta-two."""
    async with make_app(folder) as app:
        who = [UserRef(Platform.TELEGRAM, str(n)) for n in range(5)]
        alpha = await app.quiz.ask(who[0], "Asker", GROUP, question_id="alpha-one")
        beta = await app.quiz.ask(who[0], "Asker", GROUP, question_id="beta-two")
        await app.reports.file(who[1], "Ann", alpha.round.id, "wrong", "len() is right;\nsee docs")
        await app.reports.file(who[2], "Bob", alpha.round.id, "wrong")
        await app.reports.file(who[3], "Cy", alpha.round.id, "typo")
        await app.reports.file(who[4], "Di", beta.round.id, "outdated")


def test_reports_are_listed_by_question_and_resolved(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["questions", "reports"]) == 0
    assert capsys.readouterr().out == "No reports yet.\n"
    asyncio.run(file_reports(configured))

    assert main(["questions", "reports", "--open"]) == 0
    out = capsys.readouterr().out
    alpha, beta, total = out.split("\n\n")
    assert alpha.splitlines()[:2] == [
        "alpha-one (alpha): 3 open, 0 resolved  HELD: out of daily picks and games",
        "  reasons: wrong answer 2, typo 1",
    ]
    assert ", discord:5550, wrong answer, open:\n      len() is right;\n      see docs" in alpha
    assert beta.splitlines()[:2] == ["beta-two (beta): 1 open, 0 resolved", "  reasons: outdated 1"]
    assert total == "4 report(s) of 2 question(s); 1 held\n"

    assert main(["questions", "resolve", "alpha-one", "--note", "It is len(); reworded."]) == 0
    assert capsys.readouterr().out == "Resolved 3 open report(s) of alpha-one.\n"
    assert main(["questions", "reports", "--open"]) == 0
    assert capsys.readouterr().out.startswith("beta-two (beta): 1 open")
    assert main(["questions", "reports"]) == 0
    everything = capsys.readouterr().out
    assert "alpha-one (alpha): 0 open, 3 resolved" in everything
    assert "resolved: It is len(); reworded." in everything


def test_resolving_a_question_without_open_reports_fails_and_changes_nothing(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(file_reports(configured))
    for question in ("no-such-question", "alpha-two"):
        assert main(["questions", "resolve", question, "--note", "x"]) == 1
        err = capsys.readouterr().err
        assert f"stackprep: Question '{question}' has no open reports" in err
    assert main(["questions", "resolve", "alpha-one", "--note", "y" * 501]) == 1
    assert "501 characters; the limit is 500" in capsys.readouterr().err
    assert main(["questions", "reports", "--open"]) == 0
    assert "4 report(s) of 2 question(s); 1 held" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["questions", "resolve", "alpha-one"])  # the note is required
    assert usage.value.code == 2
