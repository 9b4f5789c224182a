"""Games on PostgreSQL: one row per game, moved on by compare-and-set (see GameStore), the same
contract as the SQLite store (bot/storage/sqlite/games.py; one contract test suite), safe when
several processes share the table:

- one running game per chat is the partial unique index games_one_per_chat: of two processes
  starting a game in one chat at once, one inserts; the other's insert does nothing, and it
  reads the winner's game in a statement of its own (a fresh snapshot, so it sees the row its
  insert waited for);
- a step is one UPDATE ... WHERE the game is still running at the expected position and phase:
  the server locks the row, so of two processes moving it on from the same step one does.

Answers' player names come from the players table itself (SQL), not from the quiz store.
"""

from __future__ import annotations

import json

from bot.core.common.errors import StorageUnavailable
from bot.core.games.model import Game, GameAnswer
from bot.core.games.ports import GameStore
from bot.storage.postgres.database import UNREACHABLE, PgDatabase, affected
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

__all__ = ["PgGameStore"]

_SELECT = f"SELECT {GAME_COLUMNS} FROM games "  # noqa: S608
_NEW = len(NEW_GAME_COLUMNS.split(", "))
_INSERT = (
    f"INSERT INTO games ({NEW_GAME_COLUMNS}) "  # noqa: S608
    f"VALUES ({', '.join(f'${n}' for n in range(1, _NEW + 1))}) "
    f"ON CONFLICT DO NOTHING RETURNING {GAME_COLUMNS}"
)
_MOVED = len(MOVED_COLUMNS)
_UPDATE = (
    f"UPDATE games SET {', '.join(f'{c} = ${n}' for n, c in enumerate(MOVED_COLUMNS, 1))} "  # noqa: S608
    f"WHERE id = ${_MOVED + 1} AND state = 'running' AND position = ${_MOVED + 2} "
    f"AND phase = ${_MOVED + 3}"
)
_RUNNING_IN = _SELECT + "WHERE chat_key = $1 AND state = 'running'"


class PgGameStore:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"PgGameStore({self._db!r})"

    async def create_game(self, game: Game) -> Game:
        async with self._db.connection() as conn:
            for _ in range(3):
                row = await conn.fetchrow(_INSERT, *new_game_values(game))
                if row is None:  # the chat has a running game (or the id is taken)
                    row = await conn.fetchrow(_RUNNING_IN, game.chat.key)
                if row is not None:  # else the winner ended meanwhile: try again
                    return _game(row)
        raise StorageUnavailable(UNREACHABLE)

    async def get_game(self, game_id: str) -> Game | None:
        row = await self._db.fetchrow(_SELECT + "WHERE id = $1", game_id)
        return _game(row) if row is not None else None

    async def running_in(self, chat_key: str) -> Game | None:
        row = await self._db.fetchrow(_RUNNING_IN, chat_key)
        return _game(row) if row is not None else None

    async def running_games(self) -> list[Game]:
        rows = await self._db.fetch(_SELECT + "WHERE state = 'running' ORDER BY created_at")
        return [_game(r) for r in rows]

    async def update(self, game: Game, expected: Game) -> bool:
        status = await self._db.execute(
            _UPDATE, *moved_values(game), game.id, expected.position, expected.phase.value
        )
        return affected(status) == 1

    async def recent_questions(self, chat_key: str, games: int) -> list[str]:
        rows = await self._db.fetch(
            "SELECT questions FROM games WHERE chat_key = $1 "
            'ORDER BY created_at DESC, id COLLATE "C" LIMIT $2',
            chat_key, games,
        )  # fmt: skip
        return list(dict.fromkeys(qid for (ids,) in rows for qid in json.loads(ids)))

    async def game_answers(self, game: Game) -> list[GameAnswer]:
        rows = await self._db.fetch(
            f"SELECT {GAME_ANSWER_COLUMNS} FROM unnest($1::text[]) AS r(id) "  # noqa: S608
            "JOIN answers a ON a.round_id = r.id JOIN players p ON p.id = a.player_id "
            "ORDER BY a.answered_at, a.player_id",
            list(game.round_ids),
        )
        return [game_answer(r) for r in rows]


def _conforms(store: PgGameStore) -> GameStore:
    return store  # mypy checks that the repository satisfies the protocol
