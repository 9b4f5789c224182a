"""What the game tests share: waiting for the engine to finish its games."""

from __future__ import annotations

import asyncio

from bot.core.games import GameEngine


async def finished(engine: GameEngine) -> None:
    """Until the engine plays no game (its last posts are real I/O): a few seconds at most."""
    for _ in range(500):
        if engine.playing == 0:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the game did not end")
