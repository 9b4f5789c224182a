"""Games in memory: the same behaviour as SqliteGameStore (one contract test suite)."""

from __future__ import annotations

from bot.core.games.model import Game, GameAnswer, GameState
from bot.core.games.ports import GameStore
from bot.storage.memory.quiz import MemoryStore


class MemoryGameStore:
    def __init__(self, quiz: MemoryStore) -> None:
        self._quiz = quiz  # answers and names live there, as in the database
        self._games: dict[str, Game] = {}

    async def create_game(self, game: Game) -> Game:
        running = await self.running_in(game.chat.key)
        if running is not None:
            return running
        self._games[game.id] = game
        return game

    async def get_game(self, game_id: str) -> Game | None:
        return self._games.get(game_id)

    async def running_in(self, chat_key: str) -> Game | None:
        return next(
            (g for g in self._games.values()
             if g.chat.key == chat_key and g.state is GameState.RUNNING),
            None,
        )  # fmt: skip

    async def running_games(self) -> list[Game]:
        found = [g for g in self._games.values() if g.state is GameState.RUNNING]
        return sorted(found, key=lambda g: g.created_at)

    async def update(self, game: Game, expected: Game) -> bool:
        stored = self._games.get(game.id)
        if (
            stored is None
            or stored.state is not GameState.RUNNING
            or (stored.position, stored.phase) != (expected.position, expected.phase)
        ):
            return False
        self._games[game.id] = game
        return True

    async def recent_questions(self, chat_key: str, games: int) -> list[str]:
        mine = [g for g in self._games.values() if g.chat.key == chat_key]
        mine.sort(key=lambda g: (g.created_at, g.id), reverse=True)
        return list(dict.fromkeys(qid for g in mine[:games] for qid in g.question_ids))

    async def game_answers(self, game: Game) -> list[GameAnswer]:
        rounds = set(game.round_ids)
        found = [
            GameAnswer(pid, self._quiz.name_of(pid), rid, a.correct, a.at)
            for (rid, pid), a in self._quiz.answers()
            if rid in rounds
        ]
        return sorted(found, key=lambda a: (a.at, a.player_id))


def _conforms(store: MemoryGameStore) -> GameStore:
    return store  # mypy checks that the repository satisfies the protocol
