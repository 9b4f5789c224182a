"""Group quiz games (`/quiz`): timed runs of questions in a chat, with standings and a winner.

The service records and decides (start, stop, status, each step of a game); the engine keeps
time and posts through the platforms' Outboxes. Questions are the quiz's rounds (kind GAME), so
answers, their privacy and the boards' caps are the quiz's own rules.
"""

from bot.core.games.args import parse_game_args
from bot.core.games.engine import GameEngine
from bot.core.games.model import (
    COUNT_RANGE,
    DEFAULT_COUNT,
    DEFAULT_SECONDS,
    SECONDS_RANGE,
    Game,
    GameAnswer,
    GameSettings,
    GameState,
    Phase,
    Standing,
)
from bot.core.games.ports import GameStore
from bot.core.games.service import GameService

__all__ = [
    "COUNT_RANGE",
    "DEFAULT_COUNT",
    "DEFAULT_SECONDS",
    "SECONDS_RANGE",
    "Game",
    "GameAnswer",
    "GameEngine",
    "GameService",
    "GameSettings",
    "GameState",
    "GameStore",
    "Phase",
    "Standing",
    "parse_game_args",
]
