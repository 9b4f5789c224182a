"""Reports of wrong, unclear or outdated questions: the use cases, their port and values.

A person reports a question from a round they were shown (the Report button under an answer's
result or a daily reveal, `/report` in the console). The button carries only the round
(`r1.<round>[.<word>]`, bot/core/quiz/tokens.py); the question always comes from the stored
round, so a forged button can at most name a round that does not exist. One open report per
person per question (the store's unique key); notes are cleaned of control characters and
held to NOTE_MAX. A question with HOLD_AT or more open reports (from different people, by that
key) is held out of daily picks and games until an operator resolves its reports
(`stackprep questions resolve`); `held_questions()` is that set, cached for `held_ttl`.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.core.bank.questions import Question
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.errors import QuizError
from bot.core.common.identity import UserRef
from bot.core.common.replies import Reply
from bot.core.common.untrusted import storable
from bot.core.quiz import report_texts as rt
from bot.core.quiz.ports import Players
from bot.core.quiz.rounds import Round
from bot.core.quiz.service import QuizService
from bot.core.quiz.tokens import decode_report

log = logging.getLogger(__name__)

NOTE_MAX = rt.NOTE_MAX
HOLD_AT = 3  # open reports that hold a question out of daily picks and games
HELD_TTL = timedelta(seconds=60)  # how long held_questions() is reused (another process may
# resolve: the bot sees it within this long)
SKIP = rt.SKIP_WORD  # Telegram's "Skip" button under the note prompt


class Reason(StrEnum):
    WRONG = "wrong"
    UNCLEAR = "unclear"
    OUTDATED = "outdated"
    TYPO = "typo"
    OTHER = "other"


class ReportState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class AlreadyReported(QuizError):
    default_message = rt.ALREADY_REPORTED


class InvalidReport(QuizError):
    """A forged, garbled or foreign report button, or one whose round does not exist."""

    default_message = rt.INVALID_BUTTON


@dataclass(frozen=True, slots=True)
class NewReport:
    question_id: str
    platform: str
    place: str  # the chat key where the question was shown
    player_id: int
    reason: Reason
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    question_id: str
    platform: str
    place: str
    player_id: int
    reason: Reason
    note: str
    created_at: datetime
    state: ReportState = ReportState.OPEN
    resolution: str = ""
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QuestionReports:
    """One question's reports, for `stackprep questions reports`."""

    question_id: str
    reports: tuple[Report, ...]

    @property
    def open(self) -> int:
        return sum(r.state is ReportState.OPEN for r in self.reports)

    def reasons(self) -> list[tuple[Reason, int]]:
        """Reports per reason, most first (ties in Reason's order)."""
        counts = Counter(r.reason for r in self.reports)
        return sorted(counts.items(), key=lambda kv: (-kv[1], list(Reason).index(kv[0])))


class ReportStore(Protocol):
    async def add_report(self, report: NewReport) -> tuple[Report, int]:
        """Store an open report: (it, its question's open reports now, this one included),
        counted in the same write. Raises AlreadyReported when this player has an open
        report of the question; nothing changes then."""
        ...

    async def open_report(self, question_id: str, player_id: int) -> Report | None: ...

    async def set_note(self, report_id: int, player_id: int, note: str) -> Report | None:
        """Replace the note of this player's open report `report_id`; None (and nothing
        changed) when there is no such report."""
        ...

    async def reports(self, *, open_only: bool) -> list[Report]:
        """Every report (or the open ones), oldest first."""
        ...

    async def resolve(self, question_id: str, note: str, at: datetime) -> int:
        """Close every open report of the question with `note`; how many were closed."""
        ...

    async def held(self, at_least: int) -> frozenset[str]:
        """Questions with at least `at_least` open reports."""
        ...


@dataclass(frozen=True, slots=True)
class ReportForm:
    """The Report button was pressed: the round and question, and the reasons to pick."""

    round_id: str
    question: Question
    reply: Reply


@dataclass(frozen=True, slots=True)
class Filed:
    report: Report
    reply: Reply


def clean_note(text: str) -> str:
    """A note as stored: stripped, without control or format characters (but newlines), so an
    operator's terminal never acts on what a reporter typed, and without lone surrogates (a
    JSON escape can carry one; no database can store it)."""
    kept = (c for c in text if c == "\n" or unicodedata.category(c) not in {"Cc", "Cf", "Cs"})
    return "".join(kept).strip()


def parse_reason(word: str) -> Reason:
    """A reason word (any case); anything else -> QuizError naming the reasons."""
    word = storable(word)
    try:
        return Reason(word.strip().casefold())
    except ValueError:
        raise QuizError(rt.unknown_reason(word)) from None


def parse_report_args(words: Sequence[str]) -> tuple[Reason | None, str]:
    """`/report [reason] [note ...]` (the console): the reason and the note (words joined by
    spaces, cleaned); no words -> (None, "") so the caller shows the reasons."""
    if not words:
        return None, ""
    return parse_reason(words[0]), clean_note(" ".join(words[1:]))


def check_note(note: str) -> str:
    cleaned = clean_note(note)
    if len(cleaned) > NOTE_MAX:
        raise QuizError(rt.note_too_long(len(cleaned), NOTE_MAX))
    return cleaned


class ReportService:
    def __init__(
        self,
        quiz: QuizService,
        store: ReportStore,
        *,
        players: Players,
        clock: Clock | None = None,
        hold_at: int = HOLD_AT,
        held_ttl: timedelta = HELD_TTL,
    ) -> None:
        """`quiz` finds the rounds (its cache first); `players` (the quiz's store) maps a
        person to their player id."""
        self.quiz = quiz
        self.store = store
        self.players = players
        self.clock = clock or SystemClock()
        self.hold_at = hold_at
        self.held_ttl = held_ttl
        self._held: tuple[datetime, frozenset[str]] | None = None

    # -- the buttons and the console ----------------------------------------------------------

    async def press(self, user: UserRef, name: str, token: str) -> ReportForm | Filed | Reply:
        """A report button: `r1.<round>` the form (the reasons), `r1.<round>.<reason>` a
        report with that reason (Telegram's keyboard), `r1.<round>.skip` no note."""
        decoded = decode_report(token)
        if decoded is None:
            raise InvalidReport()
        if decoded.word is None:
            return await self.form(user, name, decoded.round_id)
        if decoded.word == SKIP:
            return await self.skip_note(user, name, decoded.round_id)
        if decoded.word not in set(Reason):
            raise InvalidReport()
        return await self.file(user, name, decoded.round_id, decoded.word)

    async def form(self, user: UserRef, name: str, round_id: str) -> ReportForm:
        """Check that this person may report the round's question (it exists, they have no
        open report of it) before asking for a reason."""
        rnd, question = await self._round(round_id)
        player = await self.players.player(user, name)
        if await self.store.open_report(question.id, player) is not None:
            raise AlreadyReported()
        return ReportForm(rnd.id, question, rt.reasons_reply(rnd.id, question.prompt))

    async def file(
        self, user: UserRef, name: str, round_id: str, reason: str, note: str = ""
    ) -> Filed:
        """Store a report of the round's question; AlreadyReported for a second one."""
        why = parse_reason(reason)
        cleaned = check_note(note)
        rnd, question = await self._round(round_id)
        player = await self.players.player(user, name)
        new = NewReport(
            question.id, rnd.chat.platform.value, rnd.chat.key, player, why, cleaned,
            self.clock.now(),
        )  # fmt: skip
        report, open_now = await self.store.add_report(new)
        if open_now == self.hold_at:  # the report that tipped it: said once per hold
            log.info(
                "reports: question %s is now held out of daily picks and games: %d open "
                "reports from different people (stackprep questions reports)",
                question.id, open_now,
            )  # fmt: skip
        if open_now >= self.hold_at:
            self._held = None
        return Filed(report, rt.filed_reply(report.id, rt.REASON_LABELS[why], bool(cleaned)))

    async def add_note(self, user: UserRef, name: str, report_id: int, note: str) -> Reply:
        """A note for one's own open report (Telegram: a reply to the note prompt)."""
        cleaned = check_note(note)
        if not cleaned:
            raise QuizError(rt.EMPTY_NOTE)
        player = await self.players.player(user, name)
        if await self.store.set_note(report_id, player, cleaned) is None:
            raise QuizError(rt.no_report_to_note(report_id))
        return rt.note_added_reply(report_id)

    async def skip_note(self, user: UserRef, name: str, round_id: str) -> Reply:
        _, question = await self._round(round_id)
        player = await self.players.player(user, name)
        if await self.store.open_report(question.id, player) is None:
            raise QuizError(rt.NOT_REPORTED)
        return rt.skipped_reply()

    async def _round(self, round_id: str) -> tuple[Round, Question]:
        rnd = await self.quiz.get_round(round_id)
        question = self.quiz.library.get(rnd.question_id) if rnd is not None else None
        if rnd is None or question is None:
            raise InvalidReport(rt.NO_SUCH_ROUND)
        return rnd, question

    # -- what other features ask ------------------------------------------------------------

    async def held_questions(self) -> frozenset[str]:
        """Question ids held out of daily picks and games (HOLD_AT or more open reports);
        read again after `held_ttl`, or at once after a report here tipped or a resolve."""
        now = self.clock.now()
        if self._held is None or now - self._held[0] >= self.held_ttl or now < self._held[0]:
            self._held = (now, await self.store.held(self.hold_at))
        return self._held[1]

    # -- the operator's tools ---------------------------------------------------------------

    async def overview(self, *, open_only: bool) -> list[QuestionReports]:
        """Reports grouped by question: most open reports first, then by question id."""
        grouped: dict[str, list[Report]] = {}
        for report in await self.store.reports(open_only=open_only):
            grouped.setdefault(report.question_id, []).append(report)
        found = [QuestionReports(qid, tuple(rs)) for qid, rs in grouped.items()]
        return sorted(found, key=lambda q: (-q.open, -len(q.reports), q.question_id))

    async def resolve(self, question_id: str, note: str) -> int:
        """Close the question's open reports with a resolution note; QuizError when it has
        none (nothing changes then)."""
        cleaned, question_id = check_note(note), storable(question_id).strip()
        closed = await self.store.resolve(question_id, cleaned, self.clock.now())
        if closed == 0:
            raise QuizError(rt.nothing_to_resolve(question_id))
        self._held = None
        log.info("reports: %d open report(s) of question %s resolved", closed, question_id)
        return closed
