"""Running the Telegram adapter: polling inside our own loop, clean cancel, and one clear line
for an invalid token or a second instance. The in-process tests use the recording fake Bot API;
the subprocess tests run `python -m bot` over real HTTP against a Bot API double on 127.0.0.1
(`[telegram] api_base_url`), as an operator would start it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram.error import NetworkError, TimedOut

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.receiving import CONFLICT, UNAUTHORIZED, Backoff
from bot.app import run as runtime
from bot.app.bootstrap import App
from bot.config import Config, Secret, TelegramConfig
from tests.fakes.paths import REPO, TEST_BANK
from tests.fakes.telegram_api import BOT_USER, TOKEN, FakeBotApi, command, until
from tests.fakes.telegram_server import serve_bot_api

CONFLICT_DESCRIPTION = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


@pytest.fixture
def seed() -> int:
    return 1


FAST = Backoff(first=0.001, cap=0.004)  # retries without real waiting


def adapter_over(api: FakeBotApi, app: App) -> TelegramAdapter:
    return TelegramAdapter(
        app.quiz, build_application(TOKEN, request=api, get_updates_request=api),
        inbox=app.inbox, backoff=FAST,
    )  # fmt: skip


# -- in process ----------------------------------------------------------------------------------


async def test_run_polls_serves_updates_and_stops_cleanly_when_cancelled(
    sqlite_app: App,
) -> None:
    update = command("/question beta junior")
    api = FakeBotApi(updates=[update])
    adapter = adapter_over(api, sqlite_app)
    before = asyncio.all_tasks()
    task = asyncio.create_task(adapter.run())
    await until(lambda: api.sent("sendPoll"), api.activity)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not adapter.app.running and api.shut_down >= 1
    methods = [c.method for c in api.calls]
    assert methods[:3] == ["getMe", "setMyCommands", "setMyCommands"]
    polls = [c for c in api.calls if c.method == "getUpdates"]
    assert polls[0].params["allowed_updates"] == ["message", "callback_query", "poll_answer"]
    assert polls[-1].params["offset"] == update["update_id"] + 1  # confirmed as handled
    assert asyncio.all_tasks() - before - {task} == set()  # nothing left running


async def test_invalid_token_is_one_clear_error_without_the_token(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    api.fail("getMe", 401, "Unauthorized")
    with pytest.raises(runtime.AdapterError) as caught:
        await adapter_over(api, sqlite_app).run()
    assert str(caught.value) == UNAUTHORIZED
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert api.shut_down >= 1  # the HTTP clients opened for getMe are closed again
    assert TOKEN not in caplog.text


async def test_an_unreachable_bot_api_at_start_is_retried_until_it_answers(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi(updates=[command("/question beta junior")])
    api.fail("getMe", 502, "Bad Gateway")
    api.raise_on("getMe", NetworkError("httpx.ConnectError: All connection attempts failed"))
    api.raise_on("getMe", TimedOut())
    task = asyncio.create_task(adapter_over(api, sqlite_app).run())
    try:
        await until(lambda: api.sent("sendPoll"), api.activity)
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [c.method for c in api.calls][:5] == ["getMe"] * 4 + ["setMyCommands"]
    retries = [r for r in caplog.records if "getMe" in r.getMessage()]
    assert [r.levelname for r in retries] == ["WARNING"] * 4  # 3 failures, then "works again"
    assert all(r.exc_info is None for r in retries) and "Traceback" not in caplog.text
    assert api.shut_down >= 3  # each failed start closed what it opened


async def test_second_instance_conflict_stops_the_adapter_with_one_clear_error(
    sqlite_app: App,
) -> None:
    api = FakeBotApi()
    api.fail("getUpdates", 409, CONFLICT_DESCRIPTION)
    adapter = adapter_over(api, sqlite_app)
    with pytest.raises(runtime.AdapterError) as caught:
        await adapter.run()
    assert str(caught.value) == CONFLICT
    assert not adapter.app.running and api.shut_down >= 1


async def test_runtime_builds_the_adapter_with_rate_limiter_and_base_url(
    sqlite_app: App,
) -> None:
    from bot.adapters.telegram.sending import SendScheduler

    config = Config(
        telegram=TelegramConfig(token=Secret(TOKEN), api_base_url="http://127.0.0.1:9/bot")
    )
    (adapter,) = runtime.platform_adapters(config, sqlite_app.services)
    assert isinstance(adapter, TelegramAdapter) and adapter.name == "telegram"
    assert adapter.app.bot.base_url == f"http://127.0.0.1:9/bot{TOKEN}"
    assert isinstance(adapter.app.bot.rate_limiter, SendScheduler)  # per-chat flood limits
    assert adapter.sending is adapter.app.bot.rate_limiter
    assert TOKEN not in repr(adapter) and TOKEN not in repr(adapter.outbox)


# -- as a process, over HTTP ---------------------------------------------------------------------


@dataclass
class BotApiDouble:
    """The Bot API over HTTP on 127.0.0.1, enough of it for `stackprep run`."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    conflict: bool = False
    unauthorized: bool = False
    revoked: bool = False  # getUpdates answers 401 once the bot has polled a few times
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # token, method
    activity: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = {k: str(v) for k, v in (await request.post()).items()}
        self.calls.append((token, method, params))
        self.activity.set()
        polled = self.methods().count("getUpdates")
        if self.unauthorized or (self.revoked and method == "getUpdates" and polled > 3):
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method == "getUpdates" and self.conflict:
            return _json(409, {"ok": False, "error_code": 409, "description": CONFLICT_DESCRIPTION})
        result: Any = True
        if method == "getMe":
            result = BOT_USER
        elif method == "getUpdates":
            result, self.updates = self.updates, []
            if not result:
                await asyncio.sleep(0.05)
        elif method in {"sendMessage", "sendPoll"}:
            result = {"message_id": 900, "date": 0, "chat": {"id": -1, "type": "supergroup"}}
            if method == "sendPoll":
                options = json.loads(params["options"])
                result["poll"] = {
                    "id": "p-1", "question": params["question"], "total_voter_count": 0,
                    "options": [
                        {"text": o["text"], "voter_count": 0, "persistent_id": str(i)}
                        for i, o in enumerate(options)
                    ],
                    "is_closed": False, "is_anonymous": False, "type": "quiz",
                    "allows_multiple_answers": False, "allows_revoting": False,
                    "members_only": False,
                }  # fmt: skip
        return _json(200, {"ok": True, "result": result})

    def methods(self) -> list[str]:
        return [method for _, method, _ in self.calls]


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


@pytest.fixture
async def bot_api() -> AsyncIterator[tuple[BotApiDouble, str]]:
    async with serve_bot_api(BotApiDouble()) as served:
        yield served


async def start_bot(tmp_path: Path, base_url: str) -> asyncio.subprocess.Process:
    config = tmp_path / "stackprep.toml"
    config.write_text(
        f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "quiz.db"\n'
        f'[telegram]\napi_base_url = "{base_url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env["STACKPREP_TELEGRAM_TOKEN"] = TOKEN
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config),
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """Its exit code and stderr; a process still running after 30 s is killed (and fails)."""
    try:
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()  # e.g. the zombie a revoked token used to leave: never leak it
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_stackprep_serves_telegram_and_stops_on_sigint(
    tmp_path: Path, bot_api: tuple[BotApiDouble, str]
) -> None:
    double, base_url = bot_api
    double.updates = [command("/question beta junior")]
    process = await start_bot(tmp_path, base_url)
    try:
        await until(lambda: "sendPoll" in double.methods(), double.activity, seconds=20)
    finally:
        process.send_signal(signal.SIGINT)
    code, stderr = await finish(process)
    assert code == 0, stderr
    assert "serving telegram with 5 questions" in stderr
    assert "telegram: serving as @stackprep_bot" in stderr
    assert {token for token, _, _ in double.calls} == {TOKEN}
    assert TOKEN not in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("problem", ["conflict", "unauthorized", "revoked"])
async def test_stackprep_exits_1_with_one_clear_line(
    tmp_path: Path, bot_api: tuple[BotApiDouble, str], problem: str
) -> None:
    """A second instance, a rejected token at start, and a token revoked while running (PTB's
    updater then stopped polling and left a process that did nothing and exited 0)."""
    double, base_url = bot_api
    setattr(double, problem, True)
    code, stderr = await finish(await start_bot(tmp_path, base_url))
    expected = CONFLICT if problem == "conflict" else UNAUTHORIZED
    errors = [line for line in stderr.splitlines() if " ERROR " in line]
    assert code == 1
    assert len(errors) == 1 and errors[0].endswith(f"ERROR stackprep: {expected}"), stderr
    assert "Traceback" not in stderr and "never retrieved" not in stderr
    assert TOKEN not in stderr
    if problem == "revoked":
        assert "telegram: serving as @stackprep_bot" in stderr  # it was running
