"""`stackprep questions export`: every format from the command line, the .apkg imported into a
real Anki collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from bot.cli.entry import main
from tests.fakes.paths import TEST_BANK

TEST_IDS = {"alpha-one", "alpha-two", "alpha-three", "beta-one", "beta-two"}


def test_json_to_stdout_holds_every_question(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["questions", "export", "--format", "json", str(TEST_BANK)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {q["id"] for q in data} == TEST_IDS


@pytest.mark.parametrize("fmt", ["anki", "gift"])
def test_text_formats_to_a_file(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"bank.{fmt}"
    assert main(["questions", "export", "--format", fmt, "-o", str(out), str(TEST_BANK)]) == 0
    assert f"wrote 5 questions to {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert all(qid in text for qid in TEST_IDS)


def test_apkg_imports_into_anki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "stackprep.apkg"
    assert main(["questions", "export", "--format", "apkg", "-o", str(out), str(TEST_BANK)]) == 0
    assert f"wrote 5 questions to {out}" in capsys.readouterr().out
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        col.import_anki_package(
            ImportAnkiPackageRequest(package_path=str(out), options=ImportAnkiPackageOptions())
        )
        guids = {col.get_note(nid).guid for nid in col.find_notes("")}
    finally:
        col.close()
    assert guids == {f"stackprep-{qid}" for qid in TEST_IDS}


def test_apkg_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["questions", "export", "--format", "apkg", str(TEST_BANK)]) == 1
    assert "name it with -o" in capsys.readouterr().out
