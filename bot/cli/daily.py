"""`stackprep daily list`: every place's daily schedule, its next post and its state; on
PostgreSQL (several processes, one database) also which process leads the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from bot.config import Config
from bot.core.bank.questions import DIFFICULTY_NAMES
from bot.core.daily.model import Subscription, next_fire
from bot.core.daily.texts import duration
from bot.storage.sqlite import Database, SqliteDailyStore

HEADER = ("id", "platform", "place", "time", "timezone", "questions", "window", "recap",
          "next post (UTC)", "state")  # fmt: skip


async def list_places(config: Config, out: TextIO) -> int:
    leader: str | None = None
    if config.database.url is not None:
        subs, leader = await _from_postgres(config.database.url.reveal())
    else:
        database = Database(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
        await database.open()
        try:
            subs = await SqliteDailyStore(database).subscriptions(active_only=False)
        finally:
            await database.close()
    _table(subs, out)
    if leader is not None:
        print(leader, file=out)
    return 0


async def _from_postgres(url: str) -> tuple[list[Subscription], str]:
    """Every subscription, and the line saying which process leads the scheduler."""
    from bot.jobs.leader import current_holder
    from bot.storage.postgres import PgDailyStore, PgDatabase
    from bot.storage.postgres.database import LEADER_SPACE

    database = PgDatabase(url, min_size=1, max_size=1)
    await database.open()
    try:
        subs = await PgDailyStore(database).subscriptions(active_only=False)
        async with database.connection() as conn:
            holder = await current_holder(conn, LEADER_SPACE)
    finally:
        await database.close()
    if holder is None:
        return subs, "scheduler leader: none (no `stackprep run` on this database leads now)"
    return subs, f"scheduler leader: {holder.name}, since {holder.since:%Y-%m-%d %H:%M:%S} UTC"


def _table(subs: list[Subscription], out: TextIO) -> None:
    if not subs:
        print("No daily questions yet: an admin starts one with /daily set in a channel.", file=out)
        return
    now = datetime.now(UTC)
    rows = [HEADER]
    for d in subs:
        place = d.chat.chat_id + (f" in {d.chat.community_id}" if d.chat.community_id else "")
        level = DIFFICULTY_NAMES.get(d.difficulty or 0, "any")
        rows.append((
            str(d.id), d.chat.platform.value, place, f"{d.time:%H:%M}", d.timezone,
            f"{','.join(d.topics) or 'all'}; {level}", duration(d.window),
            "on" if d.recap else "off",
            f"{next_fire(d, now)[1]:%Y-%m-%d %H:%M}" if d.active else "-",
            "active" if d.active else f"off: {d.disabled_reason or 'turned off'}",
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    for r in rows:
        print(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1], file=out
        )
    print(f"{sum(d.active for d in subs)} active, {sum(not d.active for d in subs)} off", file=out)
