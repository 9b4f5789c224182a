"""`stackprep daily list`: every place's daily schedule, its next post and its state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from bot.config import Config
from bot.core.bank.questions import DIFFICULTY_NAMES
from bot.core.daily.model import next_fire
from bot.core.daily.texts import duration
from bot.storage.sqlite import Database, SqliteDailyStore

HEADER = ("id", "platform", "place", "time", "timezone", "questions", "window", "recap",
          "next post (UTC)", "state")  # fmt: skip


async def list_places(config: Config, out: TextIO) -> int:
    database = Database(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    await database.open()
    try:
        subs = await SqliteDailyStore(database).subscriptions(active_only=False)
    finally:
        await database.close()
    if not subs:
        print("No daily questions yet: an admin starts one with /daily set in a channel.", file=out)
        return 0
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
    return 0
