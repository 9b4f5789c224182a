"""Telegram adapter overhead per update: from `Application.process_update` to the outgoing Bot
API request, with a fake transport (no network), the shipped question bank and a real SQLite
file. Run by hand:

    uv run python bench/telegram_adapter.py           # 2,000 updates of each kind
    uv run python bench/telegram_adapter.py 500       # fewer

Each kind of update is sent one at a time (latency, not throughput). The figure includes the
real handler, QuizService and the SQLite reads/writes it does (a round insert for /question, a
group-committed answer for a button press), and PTB's own request building; it excludes
`Update.de_json` (done by the Updater before process_update) and the network.
Target: p99 <= 5 ms.

Then one busy group against private chats (`burst`, also alone: `... telegram_adapter.py
burst`): the adapter as `stackprep run` builds and runs it (create_adapter, its polling and
SendScheduler, a SQLite file), over the loopback Bot API with Telegram's flood limits enforced
(30 messages a second overall, 20 a minute per group, 429 beyond). 300 /question from 30 users
arrive in one group at once; then, while the group's replies wait for its budget, 20 private
chats each send /help and press a button, one every 0.25 s. The figure is the time from
handing those updates to getUpdates until the /help reply and the answerCallbackQuery go out.
Target: every one < 1 s. Nothing here is part of the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from bot.adapters.telegram.sending import Budgets, SendScheduler  # noqa: E402
from bot.core.bank.question_bank import load_bank  # noqa: E402
from bot.core.quiz.service import QuizService  # noqa: E402
from bot.storage.sqlite import Database, SqliteQuizStore  # noqa: E402

TARGET_P99_MS = 5.0
TARGET_PRIVATE_S = 1.0
UNLIMITED = Budgets(
    overall_rate=1e9, overall_burst=10**9, group_count=10**9, group_burst=10**9 - 1,
    group_period=1.0, private_rate=1e9, private_burst=10**9, queue_max=10**9,
)  # fmt: skip
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
        await adapter.sending.idle()  # replies go through the chat's send queue
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
            # budgets out of the way: this part measures the adapter, not Telegram's limits
            sending = SendScheduler(UNLIMITED)
            adapter = TelegramAdapter(
                service, build_application("1:x", request=api, rate_limiter=sending)
            )
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


async def burst(private_chats: int = 20) -> None:
    """A private chat's latency while one group bursts (see the module's docstring)."""
    from bot.adapters.telegram.adapter import create_adapter
    from bot.adapters.telegram.sending import SLOW_DOWN
    from bot.app.bootstrap import build
    from bot.config import Config, DatabaseConfig, QuizConfig
    from bot.core.common.secret import Secret
    from tests.fakes.telegram_api import GROUP_ID, TOKEN, FakeBotApi, command, press, until

    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            database=DatabaseConfig(Path(tmp) / "burst.db"),
            quiz=QuizConfig(questions_dir=ROOT / "questions"),
        )
        async with build(config) as stackprep:
            api = FakeBotApi(flood_limits=True)
            adapter = create_adapter(Secret(TOKEN), stackprep.services, request=api)
            serving = asyncio.create_task(adapter.run())
            try:
                dms = [900_000 + i for i in range(private_chats)]
                api.updates.extend(command("/question asyncio", chat_id=d, user_id=d) for d in dms)
                await until(lambda: len(api.sent("sendMessage", "sendPoll")) >= len(dms),
                            api.activity, seconds=30)  # fmt: skip
                started = loop.time()
                api.updates.extend(
                    command("/question", user_id=100 + i % 30, message_id=1000 + i)
                    for i in range(300)
                )
                helps, answers = [], []
                for n, dm in enumerate(dms):
                    await asyncio.sleep(max(0.0, started + 0.25 * (n + 1) - loop.time()))
                    button = press(_token_for(api, dm), chat_id=dm, user_id=dm)
                    at = loop.time()
                    api.updates.extend([command("/help", chat_id=dm, user_id=dm), button])
                    qid = button["callback_query"]["id"]
                    await until(lambda d=dm, q=qid: _help(api, d) and _answer(api, q),
                                api.activity, seconds=30)  # fmt: skip
                    helps.append(_help(api, dm).at - at)  # type: ignore[union-attr]
                    answers.append(_answer(api, qid).at - at)  # type: ignore[union-attr]
                group = [c for c in api.sent() if c.params.get("chat_id") == GROUP_ID]
                spent = loop.time() - started
            finally:
                adapter.sending.drain_seconds = 0.0
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
    print(f"one group bursting (300 /question from 30 users), {private_chats} private chats")
    for name, values in (("private /help reply", helps), ("private button answered", answers)):
        worst = max(values)
        ok = "OK" if worst < TARGET_PRIVATE_S else "MISSED"
        print(
            f"  {name:<26} p50 {statistics.median(values) * 1000:5.0f} ms  "
            f"max {worst * 1000:5.0f} ms   target < {TARGET_PRIVATE_S:.0f} s  {ok}"
        )
    notices = sum(1 for c in group if c.params.get("text") == SLOW_DOWN)
    print(
        f"  the group in those {spent:.1f} s: {len(group)} messages ({notices} slow-down "
        f"notice), {adapter.sending.refused} commands skipped, {len(api.throttled)} answered 429"
    )


def _token_for(api: Any, chat_id: int) -> str:
    """A button of the question asked in this private chat (a stale one for a poll)."""
    for call in api.sent("sendMessage"):
        if call.params["chat_id"] == chat_id and "reply_markup" in call.params:
            return str(call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    return "a1.stale.A"


def _help(api: Any, chat_id: int) -> Any:
    calls = api.sent("sendMessage")
    return next((c for c in calls if c.params["chat_id"] == chat_id
                 and "/leaderboard" in c.params["text"]), None)  # fmt: skip


def _answer(api: Any, query_id: str) -> Any:
    calls = api.sent("answerCallbackQuery")
    return next((c for c in calls if c.params["callback_query_id"] == query_id), None)


if __name__ == "__main__":
    if sys.argv[1:] == ["burst"]:
        asyncio.run(burst())
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
        asyncio.run(burst())
