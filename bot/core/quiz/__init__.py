"""The quiz: rounds, scoring, button tokens and QuizService, the multiple-choice use cases.

This module's names are the quiz's public surface: the daily question and practice import
only these (an architecture test holds them to it), never the quiz's modules directly.
"""

from bot.core.quiz.ports import (
    Attempt,
    Players,
    PlayerStats,
    Results,
    RoundStats,
    Solver,
    Store,
    TopicStat,
)
from bot.core.quiz.report_texts import report_button
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import (
    AnswerContext,
    Award,
    BoardRow,
    RankedRow,
    ScoringRules,
    game_points,
    iso_week,
    rank_rows,
)
from bot.core.quiz.service import AnswerEvent, AnswerListener, Asked, QuizService, quiz_poll
from bot.core.quiz.texts import question_reply, reveal_reply

__all__ = [
    "AnswerContext",
    "AnswerEvent",
    "AnswerListener",
    "Asked",
    "Attempt",
    "Award",
    "BoardRow",
    "PlayerStats",
    "Players",
    "QuizService",
    "RankedRow",
    "Results",
    "Round",
    "RoundKind",
    "RoundStats",
    "ScoringRules",
    "Solver",
    "Store",
    "TopicStat",
    "game_points",
    "iso_week",
    "question_reply",
    "quiz_poll",
    "rank_rows",
    "report_button",
    "reveal_reply",
]
