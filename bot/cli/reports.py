"""`stackprep questions reports [--open]` and `stackprep questions resolve ID --note TEXT`: the
operator's side of question reports (bot/core/quiz/reports.py), over the configured database
and bank. Safe while the bot runs (one more connection to the same file); the bot sees a
resolve within a minute (its held set is cached that long)."""

from __future__ import annotations

from typing import TextIO

from bot.app.bootstrap import build
from bot.cli.output import CommandFailed
from bot.config import Config
from bot.core.common.errors import QuizError
from bot.core.quiz import report_texts as rt
from bot.core.quiz.reports import QuestionReports, Report, ReportState


def _note_lines(report: Report) -> list[str]:
    state = "open" if report.state is ReportState.OPEN else "resolved"
    head = (
        f"    #{report.id} {report.created_at:%Y-%m-%d %H:%M} UTC, {report.place}, "
        f"{rt.REASON_LABELS[report.reason].lower()}, {state}"
    )
    lines = [head + (":" if report.note else "")]
    lines += [f"      {line}" for line in report.note.splitlines() if line.strip()]
    if report.resolution:
        lines.append(f"      resolved: {report.resolution.splitlines()[0]}")
    return lines


def _group(found: QuestionReports, topic: str, hold_at: int) -> list[str]:
    resolved = len(found.reports) - found.open
    held = "  HELD: out of daily picks and games" if found.open >= hold_at else ""
    reasons = ", ".join(f"{rt.REASON_LABELS[r].lower()} {n}" for r, n in found.reasons())
    lines = [
        f"{found.question_id} ({topic}): {found.open} open, {resolved} resolved{held}",
        f"  reasons: {reasons}",
    ]
    for report in found.reports:
        lines += _note_lines(report)
    return lines


async def list_reports(config: Config, out: TextIO, *, open_only: bool) -> int:
    app = build(config)
    async with app:
        groups = await app.reports.overview(open_only=open_only)
    if not groups:
        print("No open reports." if open_only else "No reports yet.", file=out)
        return 0
    for found in groups:
        question = app.quiz.library.get(found.question_id)  # a community's own too
        topic = question.topic if question is not None else "no longer in the bank"
        print("\n".join(_group(found, topic, app.reports.hold_at)), file=out)
        print(file=out)
    total = sum(len(g.reports) for g in groups)
    held = sum(g.open >= app.reports.hold_at for g in groups)
    print(f"{total} report(s) of {len(groups)} question(s); {held} held", file=out)
    return 0


async def resolve(config: Config, question_id: str, note: str, out: TextIO) -> int:
    app = build(config)
    async with app:
        try:
            closed = await app.reports.resolve(question_id, note)
        except QuizError as exc:  # no open reports, or a note over the limit
            raise CommandFailed(exc.message) from None
    print(f"Resolved {closed} open report(s) of {question_id.strip()}.", file=out)
    return 0
