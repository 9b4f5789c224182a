"""What the game tests share: waiting for the engine to finish its games."""

from __future__ import annotations

import asyncio

from bot.app.bootstrap import App
from bot.core.games import GameEngine
from bot.core.quiz.rounds import Round
from tests.fakes.telegram_api import Call, FakeBotApi


async def finished(engine: GameEngine) -> None:
    """Until the engine plays no game (its last posts are real I/O): a few seconds at most."""
    for _ in range(500):
        if engine.playing == 0:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the game did not end")


async def telegram_round(app: App, api: FakeBotApi, call: Call) -> tuple[Round, str | None]:
    """The round a Telegram question post (`call`, to the Bot API double) asks, and its poll
    id (None: a message with buttons)."""
    if call.method == "sendPoll":
        asked = call.params["question"]
        poll_id = [p for p, poll in api._polls.items() if poll["question"] == asked][-1]
        round_id = await app.store.linked_round("telegram", poll_id)
    else:
        poll_id = None
        token = call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        round_id = token.split(".")[1]
    assert round_id is not None
    rnd = await app.quiz.get_round(round_id)
    assert rnd is not None
    return rnd, poll_id
