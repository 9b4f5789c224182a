"""The bank as an Anki package (.apkg), the file every Anki client imports with one tap.

Built with genanki (imported on first use, so nothing pays for it until someone exports). The
notes carry the same GUIDs as the plain-text export (`stackprep-<question id>`), and the note
type and decks have fixed ids, so importing a newer export updates the notes already there
instead of adding copies, and keeps each card's review history.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence

from bot.core.bank.exporters import (
    ExportFile,
    anki_deck,
    anki_fields,
    anki_guid,
    anki_tags,
    to_anki,
)
from bot.core.bank.questions import Question

# Fixed forever: Anki recognises the note type and the decks by these ids on every re-import.
MODEL_ID = 1_733_562_021
MODEL_NAME = "Stackprep question"
_CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; }
pre { background: #f4f4f4; padding: 8px; overflow-x: auto; }
.nightMode pre { background: #2b2b2b; }"""


def deck_id(name: str) -> int:
    """A stable id per deck name (Anki ids are positive 63-bit integers)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:7], "big") + 1


def to_apkg(
    questions: Sequence[Question], titles: Mapping[str, str], *, timestamp: float | None = None
) -> bytes:
    """An .apkg with one Stackprep::<topic> deck per topic and one note per question.

    `timestamp` (default: now) is the notes' modification time; Anki updates a note it already
    has only from a newer one."""
    import genanki  # type: ignore[import-untyped]  # on first use only: see the docstring

    model = genanki.Model(
        MODEL_ID,
        MODEL_NAME,
        fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[
            {
                "name": "Question",
                "qfmt": "{{Front}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Back}}',
            }
        ],
        css=_CSS,
    )
    decks: dict[str, genanki.Deck] = {}
    for q in questions:
        name = anki_deck(q, titles)
        deck = decks.get(name) or decks.setdefault(name, genanki.Deck(deck_id(name), name))
        front, back = anki_fields(q)
        deck.add_note(
            genanki.Note(model=model, fields=[front, back], guid=anki_guid(q), tags=anki_tags(q))
        )
    buffer = io.BytesIO()
    genanki.Package(list(decks.values())).write_to_file(buffer, timestamp=timestamp)
    return buffer.getvalue()


def anki_files(
    questions: list[Question], titles: Mapping[str, str], stem: str
) -> tuple[ExportFile, ...]:
    """What a learner gets from /export: the .apkg (one tap in every Anki client) and the same
    notes as a plain-text import file (same GUIDs, so either updates the other's notes)."""
    return (
        ExportFile(f"{stem}.apkg", to_apkg(questions, titles)),
        ExportFile(f"{stem}.txt", to_anki(questions, titles).encode("utf-8")),
    )
