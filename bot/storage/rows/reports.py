"""Question reports' rows <-> values, for both SQL engines."""

from __future__ import annotations

from typing import Any

from bot.core.quiz.reports import NewReport, Reason, Report, ReportState
from bot.storage.rows.values import from_ts, to_ts

REPORT_COLUMNS = (
    "id, question_id, platform, place, player_id, reason, note, created_at, state, resolution, "
    "resolved_at"
)
NEW_REPORT_COLUMNS = "question_id, platform, place, player_id, reason, note, created_at"


def report(row: Any) -> Report:
    """A report from a row in REPORT_COLUMNS order."""
    rid, qid, platform, place, player, reason, note, at, state, resolution, resolved = row
    return Report(
        rid, qid, platform, place, player, Reason(reason), note, from_ts(at), ReportState(state),
        resolution, from_ts(resolved) if resolved is not None else None,
    )  # fmt: skip


def new_report_values(new: NewReport) -> tuple[Any, ...]:
    """A new report's values in NEW_REPORT_COLUMNS order."""
    return (
        new.question_id, new.platform, new.place, new.player_id, new.reason.value, new.note,
        to_ts(new.created_at),
    )  # fmt: skip
