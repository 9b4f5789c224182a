"""What every platform adapter shares: the Adapter protocol, the services it serves, the one
fatal-error type, and the one policy that turns an error into what the person is told.

An adapter only turns platform updates into service calls and renders the Replies that come
back. It imports the core and this module, never the composition root (`bot.app`), storage or
the scheduler: `bot.app.bootstrap` builds the services and hands them in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import QuizError
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.texts import APOLOGY
from bot.core.community import CommunityService
from bot.core.daily.service import DailyService
from bot.core.delivery import UpdateInbox
from bot.core.games import GameService
from bot.core.practice.service import PracticeService
from bot.core.quiz import QuizService
from bot.core.quiz.reports import ReportService


class AdapterError(Exception):
    """A fatal adapter problem (invalid token, another instance polling...): one log line,
    and the process ends with a non-zero exit."""


class Adapter(Protocol):
    name: str

    async def run(self) -> None:
        """Serve until cancelled; raise AdapterError (one clear line) on a fatal problem."""
        ...

    def connected(self) -> bool:
        """Connected to the platform right now (the health check asks this)."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """The use cases an adapter serves (practice and daily may be absent, e.g. in tools), and
    the inbox a polling adapter keeps fetched updates in until they are processed."""

    quiz: QuizService
    bank: QuestionBank
    practice: PracticeService | None = None
    daily: DailyService | None = None
    inbox: UpdateInbox | None = None
    metrics: Metrics = NO_METRICS  # commands and platform API errors are reported here
    games: GameService | None = None  # /quiz
    reports: ReportService | None = None  # the Report button, /report
    community: CommunityService | None = None  # /questions ..., /propose, topic autocomplete


def error_notice(error: BaseException, *, log: logging.Logger, what: str) -> str:
    """The one error-to-reply policy: a QuizError is the person's to fix, so they get its own
    message (privately, where the platform allows); anything else is our fault: it is logged
    with `what` (the command and place) and its traceback, and the person gets a short
    apology. No traceback or internal detail ever reaches a user."""
    if isinstance(error, QuizError):
        return error.message
    log.error("%s failed", what, exc_info=error)
    return APOLOGY


def outcome(error: BaseException | None) -> str:
    """A handled command's outcome for the metrics: `ok`, `refused` (a QuizError: the
    person's to fix) or `error` (ours)."""
    if error is None:
        return "ok"
    return "refused" if isinstance(error, QuizError) else "error"
