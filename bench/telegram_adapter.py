"""Telegram adapter overhead per update: from `Application.process_update` to the outgoing Bot
API request, with a fake transport (no network), the shipped question bank and a real SQLite
file. Run by hand:

    uv run python bench/telegram_adapter.py           # 2,000 updates of each kind
    uv run python bench/telegram_adapter.py 500       # fewer

Each kind of update is sent one at a time (latency, not throughput). The figure includes the
real handler, QuizService and the SQLite reads/writes it does (a round insert for /question, a
group-committed answer for a button press), and PTB's own request building; it excludes
`Update.de_json` (done by the Updater before process_update) and the network.
Target: p99 <= 5 ms. Nothing here is part of the test suite.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.request import BaseRequest, RequestData  # noqa: E402

from bot.adapters.telegram.adapter import TelegramAdapter, build_application  # noqa: E402
from bot.core.bank.question_bank import load_bank  # noqa: E402
from bot.core.quiz.service import QuizService  # noqa: E402
from bot.storage.sqlite import Database, SqliteQuizStore  # noqa: E402

TARGET_P99_MS = 5.0
GROUP = -100500
BOT = {"id": 1, "is_bot": True, "first_name": "Stackprep", "username": "stackprep_bot"}


class TimingRequest(BaseRequest):
    """Answers like the Bot API and notes when the first request of an update went out."""

    def __init__(self) -> None:
        self.first_out: float | None = None
        self.last_markup: Any = None
        self.polls = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *_: Any, **__: Any
    ) -> tuple[int, bytes]:
        if self.first_out is None:
            self.first_out = time.perf_counter()
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result: Any = True
        if name == "getMe":
            result = BOT
        elif name in {"sendMessage", "sendPoll"}:
            result = {"message_id": 1, "date": 0, "chat": {"id": GROUP, "type": "supergroup"}}
            if name == "sendMessage":
                self.last_markup = params.get("reply_markup")
            else:
                result["poll"] = {
                    "id": f"p{next(self.polls)}", "question": "q", "total_voter_count": 0,
                    "options": [{"text": "o", "voter_count": 0, "persistent_id": "0"}],
                    "is_closed": False, "is_anonymous": False, "type": "quiz",
                    "allows_multiple_answers": False, "allows_revoting": False,
                    "members_only": False,
                }  # fmt: skip
        return 200, json.dumps({"ok": True, "result": result}).encode()


def message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 0, "text": text,
            "chat": {"id": GROUP, "type": "supergroup", "title": "prep"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }  # fmt: skip


def button(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id), "chat_instance": "c", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "message": {"message_id": 1, "date": 0, "text": "q", "from": BOT,
                        "chat": {"id": GROUP, "type": "supergroup", "title": "prep"}},
        },
    }  # fmt: skip


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class ServiceClock:
    """Wraps the QuizService methods the handlers call, adding up the time spent inside."""

    def __init__(self, service: QuizService) -> None:
        self.spent = 0.0
        for name in ("ask", "press", "leaderboard"):
            setattr(service, name, self._timed(getattr(service, name)))

    def _timed(self, method: Any) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - start

        return timed


async def measure(
    adapter: TelegramAdapter,
    api: TimingRequest,
    clock: ServiceClock,
    payloads: list[dict[str, Any]],
) -> tuple[list[float], list[float]]:
    """(total ms, adapter-only ms = total minus time inside QuizService) per update."""
    app = adapter.app
    totals, own = [], []
    for payload in payloads:
        update = Update.de_json(payload, app.bot)
        api.first_out, clock.spent = None, 0.0
        start = time.perf_counter()
        await app.process_update(update)
        assert api.first_out is not None, "the update sent nothing"
        total = api.first_out - start
        totals.append(total * 1000)
        own.append((total - clock.spent) * 1000)
    return totals[100:], own[100:]


async def main(n: int) -> None:
    bank = load_bank(ROOT / "questions")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        await db.open()
        try:
            service = QuizService(bank, SqliteQuizStore(db), ask_rate=(10**9, 1.0))
            clock = ServiceClock(service)
            api = TimingRequest()
            adapter = TelegramAdapter(service, build_application("1:x", request=api))
            ids = itertools.count(1)
            async with adapter.app:
                # /question alternating a code topic (HTML + keyboard) and any topic (often a poll)
                asks = [
                    message(next(ids), 10_000 + i, "/question" + (" asyncio" if i % 2 else ""))
                    for i in range(n + 100)
                ]
                ask_ms = await measure(adapter, api, clock, asks)
                # presses: everyone answers the last keyboard question once
                await measure(adapter, api, clock, [message(next(ids), 1, "/question python-core")])
                markup = api.last_markup
                token = markup["inline_keyboard"][0][0]["callback_data"]
                presses = [button(next(ids), 20_000 + i, token) for i in range(n + 100)]
                press_ms = await measure(adapter, api, clock, presses)
                boards = [message(next(ids), 20_000 + i, "/leaderboard") for i in range(n + 100)]
                board_ms = await measure(adapter, api, clock, boards)
        finally:
            await db.close()
    print(f"process_update -> first Bot API request, {n} updates each, one at a time")
    print("  total = with QuizService and SQLite; adapter = total minus time inside QuizService")
    for name, (total, own) in (
        ("/question (poll or HTML)", ask_ms),
        ("answer button press", press_ms),
        ("/leaderboard", board_ms),
    ):
        for part, values in (("total", total), ("adapter", own)):
            p50, p99 = statistics.median(values), pct(values, 99)
            ok = "OK" if p99 <= TARGET_P99_MS else "MISSED"
            print(
                f"  {name:<26} {part:<8} p50 {p50:5.2f} ms  p99 {p99:5.2f} ms"
                f"   target p99 <= {TARGET_P99_MS:.0f} ms  {ok}"
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
