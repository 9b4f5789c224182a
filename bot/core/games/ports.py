"""What games need from storage."""

from __future__ import annotations

from typing import Protocol

from bot.core.games.model import Game, GameAnswer


class GameStore(Protocol):
    async def create_game(self, game: Game) -> Game:
        """Store a new running game and return it; if its chat already has a running game,
        store nothing and return that one instead (one game per chat)."""
        ...

    async def get_game(self, game_id: str) -> Game | None: ...

    async def running_in(self, chat_key: str) -> Game | None:
        """The running game of a chat (ChatRef.key), if any."""
        ...

    async def running_games(self) -> list[Game]:
        """Every running game (to resume them after a restart)."""
        ...

    async def update(self, game: Game, expected: Game) -> bool:
        """Save `game` if the stored one is still running at `expected`'s position and phase
        (compare and set); False when someone else moved it on or ended it first."""
        ...

    async def recent_questions(self, chat_key: str, games: int) -> list[str]:
        """The question ids of the chat's last `games` games, the latest game's first."""
        ...

    async def game_answers(self, game: Game) -> list[GameAnswer]:
        """Every answer to the game's rounds, with the answerer's current name."""
        ...
