"""Games' rows <-> values, for both SQL engines: one row per game, its settings, questions and
rounds as JSON text. A row is anything that unpacks to its columns in the order of the column
list named beside its reader (a sqlite3 tuple or an asyncpg Record)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.games.model import Game, GameAnswer, GameSettings, GameState, Phase
from bot.storage.rows.values import from_ts, to_ts

GAME_COLUMNS = (
    "id, platform, chat_id, community_id, starter_id, starter_name, settings, questions, "
    "created_at, state, position, phase, rounds, message_ref, deadline, hint_sent, ended_at, "
    "ended_by"
)
NEW_GAME_COLUMNS = (
    "id, platform, chat_id, community_id, chat_key, starter_id, starter_name, settings, "
    "questions, created_at, state, position, phase, rounds, message_ref, deadline, hint_sent, "
    "ended_at, ended_by"
)
"""A new game's columns, in new_game_values' order."""
MOVED_COLUMNS = (
    "state", "position", "phase", "rounds", "message_ref", "deadline", "hint_sent", "ended_at",
    "ended_by",
)  # fmt: skip
"""What update() writes, in moved_values' order."""
GAME_ANSWER_COLUMNS = "a.player_id, p.name, a.round_id, a.correct, a.answered_at"
"""An answer to a game's round (answers a) with its player's current name (players p)."""


def settings_json(settings: GameSettings) -> str:
    return json.dumps(
        {"count": settings.count, "seconds": settings.seconds, "topic": settings.topic,
         "difficulty": settings.difficulty, "hints": settings.hints}
    )  # fmt: skip


def settings_from(text: str) -> GameSettings:
    raw = json.loads(text)
    return GameSettings(
        int(raw["count"]), int(raw["seconds"]), raw["topic"], raw["difficulty"], bool(raw["hints"])
    )


def game(row: Any) -> Game:
    """A game from a row in GAME_COLUMNS order."""
    (gid, platform, chat_id, community, starter, name, settings, questions, created, state,
     position, phase, rounds, ref, deadline, hinted, ended, ended_by) = row  # fmt: skip
    return Game(
        id=gid, chat=ChatRef(Platform(platform), chat_id, community), starter_id=starter,
        starter_name=name, settings=settings_from(settings),
        question_ids=tuple(json.loads(questions)), created_at=from_ts(created),
        state=GameState(state), position=position, phase=Phase(phase),
        round_ids=tuple(json.loads(rounds)), message_ref=ref,
        deadline=from_ts(deadline) if deadline is not None else None, hint_sent=bool(hinted),
        ended_at=from_ts(ended) if ended is not None else None, ended_by=ended_by,
    )  # fmt: skip


def moved_values(game: Game) -> tuple[Any, ...]:
    """What a game's step changes, in MOVED_COLUMNS order."""
    return (
        game.state.value, game.position, game.phase.value, json.dumps(list(game.round_ids)),
        game.message_ref, to_ts(game.deadline) if game.deadline else None, int(game.hint_sent),
        to_ts(game.ended_at) if game.ended_at else None, game.ended_by,
    )  # fmt: skip


def new_game_values(game: Game) -> tuple[Any, ...]:
    """A new game's values in NEW_GAME_COLUMNS order."""
    return (
        game.id, game.chat.platform.value, game.chat.chat_id, game.chat.community_id,
        game.chat.key, game.starter_id, game.starter_name, settings_json(game.settings),
        json.dumps(list(game.question_ids)), to_ts(game.created_at), *moved_values(game),
    )  # fmt: skip


def game_answer(row: Any) -> GameAnswer:
    """An answer from a row in GAME_ANSWER_COLUMNS order."""
    player_id, name, round_id, correct, at = row
    return GameAnswer(player_id, name, round_id, bool(correct), from_ts(at))
