"""`stackprep daily list` on PostgreSQL: the places, and which process leads the scheduler
(the row of the process holding the lock; none when no process holds it)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from bot.cli.daily import list_places
from bot.core.common.identity import ChatRef, Platform
from bot.jobs.leader import Leader, Timing
from bot.storage.postgres.database import LEADER_SPACE
from tests.fakes.app import make_app, make_config
from tests.fakes.postgres import fresh_schema

GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")


async def listed(tmp_path: Path, url: str) -> list[str]:
    out = io.StringIO()
    assert await list_places(make_config(tmp_path, url=url), out) == 0
    return out.getvalue().splitlines()


async def test_daily_list_says_which_process_leads(tmp_path: Path) -> None:
    async with fresh_schema() as url:
        async with make_app(tmp_path, storage="postgresql", url=url) as app:
            await app.daily.command(GROUP, ["set", "07:30", "Europe/Berlin"], is_admin=True)
        lines = await listed(tmp_path, url)
        assert lines[1].split()[:6] == ["1", "telegram", "-1001", "in", "-1001", "07:30"]
        assert lines[-2] == "1 active, 0 off"
        assert lines[-1].startswith("scheduler leader: none")

        leader = Leader(url, space=LEADER_SPACE, identity="web-2:4242", timing=Timing(retry=0.1))
        started = asyncio.Event()

        async def lead() -> None:
            started.set()
            await asyncio.Event().wait()

        task = asyncio.create_task(leader.run(lead))
        try:
            await asyncio.wait_for(started.wait(), 10)
            last = (await listed(tmp_path, url))[-1]
            assert last.startswith("scheduler leader: web-2:4242, since 20") and last.endswith(
                " UTC"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert (await listed(tmp_path, url))[-1].startswith("scheduler leader: none")


async def test_daily_list_on_sqlite_names_no_leader(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await list_places(make_config(tmp_path), out) == 0
    assert "leader" not in out.getvalue()
