"""Question reports in memory (tests, dry runs), held to the same contract tests as the SQLite
store (bot/storage/sqlite/reports.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core.quiz.reports import (
    AlreadyReported,
    NewReport,
    Report,
    ReportState,
    ReportStore,
)

__all__ = ["MemoryReportStore"]

_OPEN = ReportState.OPEN


class MemoryReportStore:
    def __init__(self) -> None:
        self._reports: dict[int, Report] = {}

    async def add_report(self, report: NewReport) -> tuple[Report, int]:
        if await self.open_report(report.question_id, report.player_id) is not None:
            raise AlreadyReported()
        stored = Report(
            len(self._reports) + 1, report.question_id, report.platform, report.place,
            report.player_id, report.reason, report.note, report.created_at,
        )  # fmt: skip
        self._reports[stored.id] = stored
        count = sum(
            r.question_id == report.question_id and r.state is _OPEN for r in self._reports.values()
        )
        return stored, count

    async def open_report(self, question_id: str, player_id: int) -> Report | None:
        return next(
            (
                r
                for r in self._reports.values()
                if (r.question_id, r.player_id, r.state) == (question_id, player_id, _OPEN)
            ),
            None,
        )

    async def set_note(self, report_id: int, player_id: int, note: str) -> Report | None:
        found = self._reports.get(report_id)
        if found is None or found.player_id != player_id or found.state is not _OPEN:
            return None
        self._reports[report_id] = updated = replace(found, note=note)
        return updated

    async def reports(self, *, open_only: bool) -> list[Report]:
        found = [r for r in self._reports.values() if r.state is _OPEN or not open_only]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    async def resolve(self, question_id: str, note: str, at: datetime) -> int:
        closing = [
            r for r in self._reports.values() if r.question_id == question_id and r.state is _OPEN
        ]
        for r in closing:
            self._reports[r.id] = replace(
                r, state=ReportState.RESOLVED, resolution=note, resolved_at=at
            )
        return len(closing)

    async def held(self, at_least: int) -> frozenset[str]:
        counts: dict[str, int] = {}
        for r in self._reports.values():
            if r.state is _OPEN:
                counts[r.question_id] = counts.get(r.question_id, 0) + 1
        return frozenset(q for q, n in counts.items() if n >= at_least)


def _conforms(store: MemoryReportStore) -> ReportStore:
    return store  # mypy checks that the store satisfies the protocol
