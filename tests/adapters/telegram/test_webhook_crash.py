"""kill -9 between storing a webhook update and finishing it: `python -m bot` in webhook mode as
a real process, over the Bot API double on 127.0.0.1 (tests/fakes/telegram_server.py), with
its SQLite file in tmp_path, and Telegram's side of the webhook played by real HTTP POSTs to
its listener.

The update is answered 200 only once it is stored, so Telegram will not send it again; the
process is killed while the update is still being processed (its admin check, a getChatMember
call, is held unanswered by the double). After a restart it is processed from the inbox, once,
and answered; a late repeat of it by Telegram changes nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.quiz import texts
from tests.fakes.paths import REPO, TEST_BANK
from tests.fakes.telegram_api import GROUP_ID, TOKEN, command
from tests.fakes.telegram_server import BotApiServer, post_update, serve_bot_api

SECRET = "crash-Test_secret-42"
PUBLIC = "https://bot.example.test/tg"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_bot(folder: Path, base_url: str, port: int, log: str) -> asyncio.subprocess.Process:
    """`python -m bot` in webhook mode over the Bot API double, its log (stderr) in `log`."""
    config = folder / "stackprep.toml"
    config.write_text(
        f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "quiz.db"\n'
        f'[telegram]\napi_base_url = "{base_url}"\nmode = "webhook"\n'
        f'listen = "127.0.0.1:{port}"\npublic_url = "{PUBLIC}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env["STACKPREP_TELEGRAM_TOKEN"] = TOKEN
    env["STACKPREP_TELEGRAM_WEBHOOK_SECRET"] = SECRET
    with (folder / log).open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config),
            cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip


async def eventually(condition: Callable[[], object], what: str, seconds: float = 40) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not condition():  # noqa: ASYNC110 (another process makes it true)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {seconds} s: {what}") from None


def inbox(db: Path) -> list[tuple[int, bool]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute("SELECT update_id, done_at IS NOT NULL FROM telegram_inbox")
        return [(int(i), bool(d)) for i, d in rows.fetchall()]


def replies(server: BotApiServer) -> list[dict[str, Any]]:
    return [m for m in server.sent("sendMessage") if int(m["chat_id"]) == GROUP_ID]


async def test_kill_9_after_the_200_then_restart_processes_the_update_once(
    tmp_path: Path,
) -> None:
    db, port = tmp_path / "quiz.db", free_port()
    url = f"http://127.0.0.1:{port}/tg"
    update = command("/daily status", user_id=31, first_name="Member")
    async with serve_bot_api(BotApiServer()) as (server, base_url):
        server.hold("getChatMember")  # the admin check: in progress until the kill
        bot = await start_bot(tmp_path, base_url, port, "first.log")
        try:
            await eventually(lambda: server.sent("setWebhook"), "the webhook is set")
            (hook,) = server.sent("setWebhook")
            assert hook["url"] == PUBLIC and hook["secret_token"] == SECRET
            assert hook["allowed_updates"] == ["message", "callback_query", "poll_answer"]
            assert hook["drop_pending_updates"] is False
            assert await post_update(url, update, "not-the-secret") == (403, "Forbidden")
            assert await post_update(url, update, SECRET) == (200, "OK")  # stored
            await eventually(lambda: server.sent("getChatMember"), "processing has begun")
        finally:
            bot.kill()  # SIGKILL: no clean-up of any kind
            await bot.wait()
        assert inbox(db) == [(update["update_id"], False)]  # stored, not done
        assert not replies(server)

        server.release("getChatMember")
        bot = await start_bot(tmp_path, base_url, port, "second.log")
        try:
            await eventually(lambda: replies(server), "the command is answered")
            await eventually(lambda: inbox(db) == [(update["update_id"], True)], "done")
            assert await post_update(url, update, SECRET) == (200, "OK")  # a late repeat
            await asyncio.sleep(0.3)
        finally:
            bot.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(20):
                    await bot.wait()
            finally:
                if bot.returncode is None:  # never leave it running
                    bot.kill()
                    await bot.wait()
        log = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
        assert bot.returncode == 0, log
        (reply,) = replies(server)  # once, after the restart
        assert reply["text"] == texts.group_admins_only("daily")
        assert "processing 1 updates left undone by the last run" in log
        assert "refused a webhook request from 127.0.0.1: a wrong secret token (403)" in log
        assert "Traceback" not in log and SECRET not in log and TOKEN not in log
        assert server.webhook is not None and not server.sent("deleteWebhook")  # left set
        assert not server.sent("getUpdates")
