"""Games over a Database: one row per game, moved on by compare-and-set (see GameStore)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bot.core.games.model import Game, GameAnswer
from bot.core.games.ports import GameStore
from bot.storage.rows.games import (
    GAME_ANSWER_COLUMNS,
    GAME_COLUMNS,
    MOVED_COLUMNS,
    NEW_GAME_COLUMNS,
    game_answer,
    moved_values,
    new_game_values,
)
from bot.storage.rows.games import game as _game
from bot.storage.sqlite.database import Database

__all__ = ["SqliteGameStore"]

_SELECT = f"SELECT {GAME_COLUMNS} FROM games"  # noqa: S608
_INSERT = (
    f"INSERT INTO games ({NEW_GAME_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(NEW_GAME_COLUMNS.split(', ')))}) ON CONFLICT DO NOTHING"
)
_UPDATE = (
    f"UPDATE games SET {', '.join(f'{c} = ?' for c in MOVED_COLUMNS)} "  # noqa: S608
    "WHERE id = ? AND state = 'running' AND position = ? AND phase = ?"
)


class SqliteGameStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteGameStore({self._db!r})"

    async def create_game(self, game: Game) -> Game:
        def insert(conn: sqlite3.Connection) -> Any:
            conn.execute(_INSERT, new_game_values(game))
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
            _UPDATE, (*moved_values(game), game.id, expected.position, expected.phase.value)
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
            f"SELECT {GAME_ANSWER_COLUMNS} FROM json_each(?)"  # noqa: S608
            " r JOIN answers a ON a.round_id = r.value "
            "JOIN players p ON p.id = a.player_id ORDER BY a.answered_at, a.player_id",
            (json.dumps(list(game.round_ids)),),
        )
        return [game_answer(r) for r in rows]


def _conforms(store: SqliteGameStore) -> GameStore:
    return store  # mypy checks that the repository satisfies the protocol
