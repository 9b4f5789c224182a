"""Games over a Database: one row per game, moved on by compare-and-set (see GameStore)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.games.model import Game, GameAnswer, GameSettings, GameState, Phase
from bot.core.games.ports import GameStore
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import from_ts, to_ts

__all__ = ["SqliteGameStore"]

_SELECT = """
SELECT id, platform, chat_id, community_id, starter_id, starter_name, settings, questions,
    created_at, state, position, phase, rounds, message_ref, deadline, hint_sent, ended_at,
    ended_by
FROM games"""


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


def _game(row: Any) -> Game:
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


def _values(game: Game) -> tuple[Any, ...]:
    return (
        game.state.value, game.position, game.phase.value, json.dumps(list(game.round_ids)),
        game.message_ref, to_ts(game.deadline) if game.deadline else None, int(game.hint_sent),
        to_ts(game.ended_at) if game.ended_at else None, game.ended_by,
    )  # fmt: skip


class SqliteGameStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteGameStore({self._db!r})"

    async def create_game(self, game: Game) -> Game:
        def insert(conn: sqlite3.Connection) -> Any:
            conn.execute(
                "INSERT INTO games (id, platform, chat_id, community_id, chat_key, starter_id, "
                "starter_name, settings, questions, created_at, state, position, phase, "
                "rounds, message_ref, deadline, hint_sent, ended_at, ended_by) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (
                    game.id, game.chat.platform.value, game.chat.chat_id, game.chat.community_id,
                    game.chat.key, game.starter_id, game.starter_name,
                    settings_json(game.settings), json.dumps(list(game.question_ids)),
                    to_ts(game.created_at), *_values(game),
                ),
            )  # fmt: skip
            return conn.execute(
                f"{_SELECT} WHERE chat_key = ? AND state = 'running'", (game.chat.key,)
            ).fetchone()

        return _game(await self._db.write_with(insert))

    async def get_game(self, game_id: str) -> Game | None:
        rows = await self._db.read(f"{_SELECT} WHERE id = ?", (game_id,))
        return _game(rows[0]) if rows else None

    async def running_in(self, chat_key: str) -> Game | None:
        rows = await self._db.read(
            f"{_SELECT} WHERE chat_key = ? AND state = 'running'", (chat_key,)
        )
        return _game(rows[0]) if rows else None

    async def running_games(self) -> list[Game]:
        rows = await self._db.read(f"{_SELECT} WHERE state = 'running' ORDER BY created_at")
        return [_game(r) for r in rows]

    async def update(self, game: Game, expected: Game) -> bool:
        changed = await self._db.write(
            "UPDATE games SET state = ?, position = ?, phase = ?, rounds = ?, message_ref = ?, "
            "deadline = ?, hint_sent = ?, ended_at = ?, ended_by = ? "
            "WHERE id = ? AND state = 'running' AND position = ? AND phase = ?",
            (*_values(game), game.id, expected.position, expected.phase.value),
        )
        return changed == 1

    async def recent_questions(self, chat_key: str, games: int) -> list[str]:
        rows = await self._db.read(
            "SELECT questions FROM games WHERE chat_key = ? ORDER BY created_at DESC, id LIMIT ?",
            (chat_key, games),
        )
        return list(dict.fromkeys(qid for (ids,) in rows for qid in json.loads(ids)))

    async def game_answers(self, game: Game) -> list[GameAnswer]:
        rows = await self._db.read(
            "SELECT a.player_id, p.name, a.round_id, a.correct, a.answered_at "
            "FROM json_each(?) r JOIN answers a ON a.round_id = r.value "
            "JOIN players p ON p.id = a.player_id ORDER BY a.answered_at, a.player_id",
            (json.dumps(list(game.round_ids)),),
        )
        return [GameAnswer(pid, name, rid, bool(c), from_ts(at)) for pid, name, rid, c, at in rows]


def _conforms(store: SqliteGameStore) -> GameStore:
    return store  # mypy checks that the repository satisfies the protocol
