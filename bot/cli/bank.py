"""`stackprep questions check|stats|export`: the operator's view of a question bank."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from bot.cli.output import write_file
from bot.core.bank.apkg import to_apkg
from bot.core.bank.exporters import EXPORTERS
from bot.core.bank.giveaways import giveaway_warnings
from bot.core.bank.question_bank import bank_wide_issues, check_directory, grading_warnings
from bot.core.bank.questions import Question, Topic, parse_topic_file

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


def check(path: Path, out: TextIO, strict: bool = False) -> int:
    """Problems (exit 1), then warnings: what the grader needs and the giveaways, not errors
    yet; with `strict`, warnings fail the check too."""
    topics, questions, issues = _load(path)
    for issue in issues:
        print(issue, file=out)
    warnings = grading_warnings(questions) + giveaway_warnings(questions)
    for warning in warnings:
        print(f"warning: {warning}", file=out)
    noted = f", {len(warnings)} warning(s)" if warnings else ""
    if issues:
        print(f"{len(issues)} problem(s) in {path}{noted}", file=out)
        return 1
    if strict and warnings:
        print(f"{len(warnings)} warning(s) in {path}; --strict counts them as problems", file=out)
        return 1
    print(f"OK: {len(questions)} questions in {len(topics)} topics ({path}){noted}", file=out)
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
    if fmt == "apkg":  # a binary package: only into a file
        if output is None:
            print("an .apkg is a binary file: name it with -o, e.g. -o stackprep.apkg", file=out)
            return 1
        package = to_apkg(questions, titles)
        write_file(output, lambda partial: partial.write_bytes(package))
        print(f"wrote {len(questions)} questions to {output}", file=out)
        return 0
    writer = EXPORTERS[fmt]
    text = writer(questions, titles)
    if output is None:
        out.write(text)
    else:
        write_file(output, lambda partial: partial.write_text(text, encoding="utf-8"))
        print(f"wrote {len(questions)} questions to {output}", file=out)
    return 0
