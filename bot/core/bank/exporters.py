"""The bank as files other tools import: Anki (plain text with headers; the .apkg package is
built from the same fields in `apkg`), Moodle GIFT, JSON.

Pure functions of the questions and topic titles; `stackprep questions export` writes them and
practice's /export hands a learner their hardest questions as Anki files.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.core.bank.questions import LABELS, Question

Exporter = Callable[[list[Question], Mapping[str, str]], str]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file handed to a person: its name and bytes."""

    name: str
    data: bytes


# (questions, topic titles, file name stem) -> the files, e.g. stem.apkg and stem.txt
FilesExporter = Callable[[list[Question], Mapping[str, str], str], tuple[ExportFile, ...]]


def _anki_front(q: Question) -> str:
    parts = [f"<p>{html.escape(q.prompt)}</p>"]
    if q.code:
        parts.append(f"<pre><code>{html.escape(q.code)}</code></pre>")
    items = "".join(f"<li>{LABELS[i]}) {html.escape(c.text)}</li>" for i, c in enumerate(q.choices))
    parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


def _anki_back(q: Question) -> str:
    right = q.choices[q.correct_index]
    return (
        f"<p><b>{LABELS[q.correct_index]}) {html.escape(right.text)}</b></p>"
        f"<p>{html.escape(q.explanation)}</p><p>{html.escape(q.model_answer)}</p>"
    )


def anki_guid(q: Question) -> str:
    """A note's GUID in every Anki export: re-importing updates the note, never copies it."""
    return f"stackprep-{q.id}"


def anki_deck(q: Question, titles: Mapping[str, str]) -> str:
    return f"Stackprep::{titles.get(q.topic, q.topic)}"


def anki_tags(q: Question) -> list[str]:
    return [f"stackprep::{q.topic}", *q.tags]


def anki_fields(q: Question) -> tuple[str, str]:
    """Front and back as HTML, with line breaks as <br> (also inside <pre>): one note per line
    in the text file, and the same fields in the .apkg."""
    front, back = (field.replace("\n", "<br>") for field in (_anki_front(q), _anki_back(q)))
    return front, back


def to_anki(questions: list[Question], titles: Mapping[str, str]) -> str:
    """Anki plain-text import with file headers: stable id as GUID, topic as deck, tags."""
    buffer = io.StringIO()
    buffer.write(
        "#separator:tab\n#html:true\n#notetype:Basic\n#guid column:1\n#deck column:2\n"
        "#tags column:5\n"
    )
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    for q in questions:
        front, back = anki_fields(q)
        writer.writerow([anki_guid(q), anki_deck(q, titles), front, back, " ".join(anki_tags(q))])
    return buffer.getvalue()


_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    """GIFT's escapes, as Moodle's own exporter writes them: a backslash before ~ = # { } :
    and before the backslash itself, and a line break as \\n."""
    return _GIFT_SPECIAL.sub(r"\\\1", text).replace("\n", "\\n")


def gift_html(text: str) -> str:
    """A text field of an [html] question. Moodle reads the options, their feedback and the
    general feedback in the question text's format, so they are HTML-escaped like the prompt
    ("<img>" is shown, not rendered); a leading "[" or "%" would be read as a format name
    ("[plain]") or an answer weight ("%50%"), so it is written as a character reference."""
    escaped = html.escape(text)
    if escaped[:1] in ("[", "%"):
        escaped = f"&#{ord(escaped[0])};{escaped[1:]}"
    return gift_escape(escaped)


def gift_category(*names: str) -> str:
    """A $CATEGORY path. Moodle takes that line as it stands (no GIFT unescaping: "\\:" would
    stay "&&058;") and splits it at "/", reading "//" as one slash: "CI/CD" is one name."""
    escaped = (name.replace("/", "//") for name in names)
    # a name starting or ending with "/" is padded with a space, as Moodle's exporter does
    return "/".join(
        f" {n}" if n.startswith("/") else f"{n} " if n.endswith("/") else n for n in escaped
    )


def to_gift(questions: list[Question], titles: Mapping[str, str]) -> str:
    """Moodle GIFT: one category per topic, the id as question name, feedback per option."""
    lines: list[str] = []
    topic = None
    for q in questions:
        if q.topic != topic:
            topic = q.topic
            path = gift_category("$course$", "Stackprep", titles.get(topic, topic))
            lines += [f"$CATEGORY: {path}", ""]
        text = html.escape(q.prompt)
        if q.code:
            text += f"<pre><code>{html.escape(q.code)}</code></pre>"
        lines.append(f"::{gift_escape(q.id)}::[html]{gift_escape(text)} {{")
        for c in q.choices:
            mark = "=" if c.correct else "~"
            feedback = f"#{gift_html(c.why)}" if c.why else ""
            lines.append(f"\t{mark}{gift_html(c.text)}{feedback}")
        lines += [f"\t####{gift_html(q.explanation)}", "}", ""]
    return "\n".join(lines)


def to_json(questions: list[Question], titles: Mapping[str, str]) -> str:
    data = [
        {
            "id": q.id,
            "topic": q.topic,
            "topic_title": titles.get(q.topic, q.topic),
            "difficulty": q.difficulty,
            "prompt": q.prompt,
            "code": q.code,
            "language": q.language,
            "choices": [{"text": c.text, "correct": c.correct, "why": c.why} for c in q.choices],
            "explanation": q.explanation,
            "model_answer": q.model_answer,
            "key_points": [{"point": k.point, "phrases": list(k.phrases)} for k in q.key_points],
            "references": list(q.references),
            "tags": list(q.tags),
        }
        for q in questions
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


EXPORTERS: dict[str, Exporter] = {"anki": to_anki, "gift": to_gift, "json": to_json}
EXPORT_FORMATS = (*EXPORTERS, "apkg")  # the .apkg is binary: bot.core.bank.apkg
