"""The .apkg export, checked the way a learner uses it: imported into a real Anki collection
(the `anki` package, the same Rust backend as the desktop app)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from anki.collection import (
    Collection,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)

from bot.core.bank.apkg import anki_files, to_apkg
from bot.core.bank.exporters import to_anki
from bot.core.bank.question_bank import QuestionBank


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[Collection]:
    col = Collection(str(tmp_path / "collection.anki2"))
    yield col
    col.close()


def import_apkg(col: Collection, path: Path) -> None:
    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions())
    )  # Anki's defaults, as a tap on the file gives them


def notes(col: Collection) -> dict[str, tuple[list[str], list[str]]]:
    """guid -> (fields, tags) of every note in the collection."""
    found = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        found[note.guid] = (list(note.fields), sorted(note.tags))
    return found


def test_every_question_becomes_a_note_in_its_topic_deck(
    bank: QuestionBank, collection: Collection, tmp_path: Path
) -> None:
    questions = list(bank.questions)
    package = tmp_path / "bank.apkg"
    package.write_bytes(to_apkg(questions, bank.titles))
    import_apkg(collection, package)

    imported = notes(collection)
    assert set(imported) == {f"stackprep-{q.id}" for q in questions}
    q = questions[0]
    fields, tags = imported[f"stackprep-{q.id}"]
    assert q.prompt in fields[0] and q.explanation in fields[1]
    assert f"stackprep::{q.topic}" in tags
    decks = {d.name for d in collection.decks.all_names_and_ids()}
    assert {f"Stackprep::{bank.titles[t]}" for t in {q.topic for q in questions}} <= decks
    for nid in collection.find_notes(""):  # each note in the deck of its own topic
        note = collection.get_note(nid)
        (card,) = note.cards()
        topic = next(t.removeprefix("stackprep::") for t in note.tags if "::" in t)
        assert collection.decks.name(card.did) == f"Stackprep::{bank.titles[topic]}"


def test_a_newer_export_updates_the_notes_instead_of_copying_them(
    bank: QuestionBank, collection: Collection, tmp_path: Path
) -> None:
    questions = list(bank.questions)
    first = tmp_path / "first.apkg"
    first.write_bytes(to_apkg(questions, bank.titles, timestamp=1_800_000_000))
    import_apkg(collection, first)

    fixed = dataclasses.replace(questions[0], explanation="A corrected explanation.")
    second = tmp_path / "second.apkg"
    second.write_bytes(to_apkg([fixed, *questions[1:]], bank.titles, timestamp=1_800_086_400))
    import_apkg(collection, second)

    imported = notes(collection)
    assert len(imported) == len(questions) == collection.note_count()
    assert "A corrected explanation." in imported[f"stackprep-{fixed.id}"][0][1]


def test_the_text_file_and_the_package_share_guids_and_fields(bank: QuestionBank) -> None:
    questions = list(bank.questions)[:3]
    package, text = anki_files(questions, bank.titles, "hardest")
    assert (package.name, text.name) == ("hardest.apkg", "hardest.txt")
    assert text.data.decode("utf-8") == to_anki(questions, bank.titles)
    for q in questions:
        assert f"stackprep-{q.id}\t" in text.data.decode("utf-8")
