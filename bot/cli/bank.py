"""Operator tools for the question bank: check, stats and export (Anki, GIFT, JSON)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from bot.core.bank.question_bank import bank_wide_issues, check_directory
from bot.core.bank.questions import LABELS, Question, Topic, parse_topic_file

# Subjects the bank must cover squarely (issue: at least 8 questions each), by tag.
SUBJECT_TAGS = (
    "django-vs-flask", "rest", "middleware", "migrations", "asyncio", "performance",
    "spa-state", "security", "docker", "fullstack-role",
)  # fmt: skip


def _load(path: Path) -> tuple[list[Topic], list[Question], list[str]]:
    if path.is_file():
        parsed = parse_topic_file(path.read_text(encoding="utf-8"), path.name)
        questions = list(parsed.questions)
        issues = list(parsed.issues) + bank_wide_issues(questions)
        return ([parsed.topic] if parsed.topic else []), questions, issues
    return check_directory(path)


def check(path: Path, out: TextIO) -> int:
    topics, questions, issues = _load(path)
    for issue in issues:
        print(issue, file=out)
    if issues:
        print(f"{len(issues)} problem(s) in {path}", file=out)
        return 1
    print(f"OK: {len(questions)} questions in {len(topics)} topics ({path})", file=out)
    return 0


def stats(path: Path, out: TextIO) -> int:
    topics, questions, issues = _load(path)
    titles = {t.slug: t.title for t in topics}
    table = Table(title=f"{len(questions)} questions in {len(topics)} topics")
    for column in ("topic", "junior", "mid", "senior", "total", "with code"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    per: dict[str, Counter[int | str]] = {t.slug: Counter() for t in topics}
    for q in questions:
        c = per.setdefault(q.topic, Counter())
        c[q.difficulty] += 1
        c["code"] += bool(q.code)
    totals: Counter[int | str] = Counter()
    for slug in sorted(per):
        c = per[slug]
        totals.update(c)
        table.add_row(
            f"{slug} ({titles.get(slug, '?')})",
            *(str(c[d]) for d in (1, 2, 3)),
            str(c[1] + c[2] + c[3]),
            str(c["code"]),
        )
    n = len(questions) or 1
    table.add_row(
        "all",
        *(f"{totals[d]} ({100 * totals[d] / n:.0f}%)" for d in (1, 2, 3)),
        str(len(questions)),
        f"{totals['code']} ({100 * totals['code'] / n:.0f}%)",
        style="bold",
    )
    console = Console(file=out, width=110, highlight=False)
    console.print(table)
    tags = Counter(t for q in questions for t in q.tags)
    console.print("subject tags: " + ", ".join(f"{t} {tags[t]}" for t in SUBJECT_TAGS))
    if issues:
        console.print(f"{len(issues)} problem(s): run `stackprep questions check`")
    return 1 if issues else 0


def export(path: Path, fmt: str, output: Path | None, out: TextIO) -> int:
    topics, questions, issues = _load(path)
    if issues:
        print(f"{len(issues)} problem(s) in the bank; run `stackprep questions check`", file=out)
        return 1
    titles = {t.slug: t.title for t in topics}
    writer = {"anki": to_anki, "gift": to_gift, "json": to_json}[fmt]
    text = writer(questions, titles)
    if output is None:
        out.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {len(questions)} questions to {output}", file=out)
    return 0


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


def to_anki(questions: list[Question], titles: dict[str, str]) -> str:
    """Anki plain-text import with file headers: stable id as GUID, topic as deck, tags."""
    buffer = io.StringIO()
    buffer.write(
        "#separator:tab\n#html:true\n#notetype:Basic\n#guid column:1\n#deck column:2\n"
        "#tags column:5\n"
    )
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    for q in questions:
        deck = f"Stackprep::{titles.get(q.topic, q.topic)}"
        tags = " ".join([f"stackprep::{q.topic}", *q.tags])
        # one note per line: HTML line breaks instead of raw newlines (also inside <pre>)
        front, back = (field.replace("\n", "<br>") for field in (_anki_front(q), _anki_back(q)))
        writer.writerow([f"stackprep-{q.id}", deck, front, back, tags])
    return buffer.getvalue()


_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    return _GIFT_SPECIAL.sub(r"\\\1", text).replace("\n", "\\n")


def to_gift(questions: list[Question], titles: dict[str, str]) -> str:
    """Moodle GIFT: one category per topic, the id as question name, feedback per option."""
    lines: list[str] = []
    topic = None
    for q in questions:
        if q.topic != topic:
            topic = q.topic
            lines += [f"$CATEGORY: $course$/Stackprep/{gift_escape(titles.get(topic, topic))}", ""]
        text = html.escape(q.prompt)
        if q.code:
            text += f"<pre><code>{html.escape(q.code)}</code></pre>"
        lines.append(f"::{gift_escape(q.id)}::[html]{gift_escape(text)} {{")
        for c in q.choices:
            mark = "=" if c.correct else "~"
            feedback = f"#{gift_escape(c.why)}" if c.why else ""
            lines.append(f"\t{mark}{gift_escape(c.text)}{feedback}")
        lines += [f"\t####{gift_escape(q.explanation)}", "}", ""]
    return "\n".join(lines)


def to_json(questions: list[Question], titles: dict[str, str]) -> str:
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
