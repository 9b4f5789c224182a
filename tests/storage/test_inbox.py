"""One contract, both UpdateInbox implementations (memory and SQLite): Telegram's fetched
updates, stored once by update id, handed out until done, pruned once done and confirmed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.core.delivery import Inbound, UpdateInbox
from bot.storage.memory import MemoryUpdateInbox
from bot.storage.sqlite import Database, SqliteUpdateInbox


def update(update_id: int, text: str = "hi") -> Inbound:
    return Inbound(update_id, json.dumps({"update_id": update_id, "text": text}))


@pytest.fixture
def inbox(app: App) -> UpdateInbox:
    return app.inbox


async def test_added_updates_are_pending_in_id_order_until_done(inbox: UpdateInbox) -> None:
    assert await inbox.add([update(7), update(3), update(5)]) == [update(3), update(5), update(7)]
    assert await inbox.pending() == [update(3), update(5), update(7)]
    await inbox.done([5])
    assert await inbox.pending() == [update(3), update(7)]
    assert await inbox.pending(after=3) == [update(7)]
    assert await inbox.pending(limit=1) == [update(3)]
    await inbox.done([3, 7, 99])  # an unknown id is ignored
    assert await inbox.pending() == []


async def test_adding_again_stores_nothing_twice_and_skips_done_ones(inbox: UpdateInbox) -> None:
    await inbox.add([update(1), update(2)])
    await inbox.done([1])
    again = await inbox.add([update(1, "re-fetched"), update(2, "re-fetched"), update(3)])
    assert again == [update(2, "re-fetched"), update(3)]  # 1 is done: not handed out again
    assert await inbox.pending() == [update(2), update(3)]  # the first copy is kept
    assert await inbox.add([]) == []
    assert await inbox.add([update(4), update(4)]) == [update(4)]


async def test_prune_forgets_only_done_updates_below_the_confirmed_id(inbox: UpdateInbox) -> None:
    await inbox.add([update(i) for i in range(1, 7)])
    await inbox.done([1, 2, 5, 6])
    assert await inbox.prune(below=6) == 3  # 1, 2, 5; 6 may still come back; 3, 4 undone
    assert await inbox.pending() == [update(3), update(4)]
    assert await inbox.add([update(6)]) == []  # still known as done
    assert await inbox.add([update(1)]) == [update(1)]  # forgotten: Telegram never resends it


# Telegram's JSON can carry a lone surrogate escape ("\\ud800": PTB and our webhook write
# it so); an encoder that writes non-ASCII as is writes the surrogate itself, which no
# database can store (SQLite's json_extract wrote it as bytes no read could decode again)
ESCAPED = json.dumps({"update_id": 9, "message": {"text": "a\ud800b\udfff"}})
LITERAL = json.dumps({"update_id": 10, "message": {"text": "a\ud800b"}}, ensure_ascii=False)


async def test_payloads_with_lone_surrogates_are_kept_meaning_the_same(inbox: UpdateInbox) -> None:
    assert "\\ud800" in ESCAPED and "\ud800" in LITERAL
    added = await inbox.add([Inbound(9, ESCAPED), Inbound(10, LITERAL), update(11)])
    pending = await inbox.pending()
    assert added == pending and [u.update_id for u in pending] == [9, 10, 11]
    assert pending[0].payload == ESCAPED  # as it came: stored as given
    assert [json.loads(u.payload) for u in pending] == [
        json.loads(ESCAPED), json.loads(LITERAL), json.loads(update(11).payload),
    ]  # fmt: skip
    for entry in pending:
        entry.payload.encode("utf-8")  # storable
    await inbox.done([9, 10])
    assert await inbox.pending() == [update(11)]  # one odd update holds up no other


async def test_the_sqlite_inbox_survives_a_reopen(tmp_path: Path) -> None:
    db = Database(tmp_path / "inbox.db")
    await db.open()
    try:
        await SqliteUpdateInbox(db).add([update(1), update(2)])
        await SqliteUpdateInbox(db).done([1])
    finally:
        await db.close()
    reopened = Database(tmp_path / "inbox.db")
    await reopened.open()
    try:
        assert await SqliteUpdateInbox(reopened).pending() == [update(2)]
    finally:
        await reopened.close()


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates too
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner),
    max_leaves=8,
)
payloads = st.builds(json.dumps, json_values, ensure_ascii=st.booleans())  # as JSON encoders write


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "inbox.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    entries=st.lists(
        st.tuples(st.integers(-(2**62), 2**62), payloads), max_size=12, unique_by=lambda e: e[0]
    )
)
@example(entries=[(1, LITERAL), (2, ESCAPED)])
async def test_any_json_payload_and_id_round_trip_through_both_inboxes(
    db: Database, entries: list[tuple[int, str]]
) -> None:
    await db.write("DELETE FROM telegram_inbox")
    stored = [Inbound(i, text) for i, text in entries]
    expected = sorted(stored, key=lambda u: u.update_id)
    # what each means in JSON (where a high surrogate's escape before a low one's is a pair)
    meant = {i: json.loads(json.dumps(json.loads(text))) for i, text in entries}
    for inbox in (MemoryUpdateInbox(), SqliteUpdateInbox(db)):
        assert await inbox.add(stored) == expected
        assert await inbox.pending() == expected
        assert await inbox.add(stored) == expected  # again: nothing new, nothing done
        assert {u.update_id: json.loads(u.payload) for u in expected} == meant
