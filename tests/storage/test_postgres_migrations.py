"""PostgreSQL's schema as Stackprep needs it (bot/storage/postgres/database.py, sql/): a
migration is applied whole or not at all, and a schema that lacks one of the functions the
migrations made (dropped by hand, restored in part) is refused at start with one line naming
it, and fails the answers as a storage fault, not as a bug, while the bot runs."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from bot.core.common.errors import StorageFailed, StorageUnavailable
from bot.core.common.identity import Platform, UserRef
from bot.storage.postgres import PgDatabase, PgQuizStore
from bot.storage.postgres import database as database_module
from bot.storage.postgres.database import OUR_FUNCTIONS, SCHEMA_VERSION, migrations
from tests.fakes.answers import a_round, an_attempt, ten_points
from tests.fakes.postgres import fresh_schema

ANSWER_FUNCTIONS = "DROP FUNCTION record_answers; DROP FUNCTION answer_contexts"
SIGNATURE = (  # record_answers' arguments
    "text[], bigint[], text[], text[], text[], text[], integer[], integer[], float8[], "
    "float8[], text[], text[], text[], text[], integer[], text[], bigint[], float8[], "
    "integer[], text[]"
)


async def _opened(url: str) -> PgDatabase:
    db = PgDatabase(url)
    await db.open()
    return db


async def _functions(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
    )
    return {r[0] for r in rows}


def test_the_answers_functions_are_ours() -> None:
    assert {"answer_contexts", "record_answers"} <= set(OUR_FUNCTIONS)
    assert OUR_FUNCTIONS["record_answers"] == 2 <= SCHEMA_VERSION


async def test_a_schema_without_a_function_of_ours_is_refused_at_start_with_one_line() -> None:
    async with fresh_schema() as url:
        await (await _opened(url)).close()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP FUNCTION record_answers")
            with pytest.raises(StorageUnavailable) as refused:
                await _opened(url)
            said = refused.value.message
            assert "\n" not in said and "record_answers" in said, said
            assert "answer_contexts" not in said  # only what is missing
            assert f"schema (version {SCHEMA_VERSION})" in said
            assert "bot/storage/postgres/sql/0002_*.sql" in said
            assert "record_answers" not in await _functions(conn)  # nothing written
        finally:
            await conn.close()


async def test_a_function_dropped_while_the_bot_runs_is_a_storage_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each answer fails with the storage-fault message (not "busy, try again"), the log says
    in one line per batch what is missing, /healthz's fault says so too; once the function
    is back, answers are written again without a restart."""
    async with fresh_schema() as url:
        db = await _opened(url)
        try:
            store = PgQuizStore(db)
            players = [await store.player(UserRef(Platform.DISCORD, str(i)), "p") for i in range(3)]
            rounds = [a_round(i) for i in range(2)]
            for rnd in rounds:
                await store.create_round(rnd)
            assert await store.record_answer(an_attempt(rounds[0], players[0]), ten_points)
            await db.execute(ANSWER_FUNCTIONS)
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                for p in players[1:]:
                    with pytest.raises(StorageFailed) as failed:
                        await store.record_answer(an_attempt(rounds[1], p), ten_points)
                    assert failed.value.message == StorageFailed.default_message
            lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.storage")]
            assert any("answer_contexts" in line and "schema" in line for line in lines), lines
            assert not any(r.exc_info for r in caplog.records)  # no traceback: not a bug
            fault = db.recent_fault()
            assert fault is not None and "answer_contexts" in fault
            await db.execute(dict(migrations())[2])  # the operator creates them again
            for p in players[1:]:
                assert await store.record_answer(an_attempt(rounds[1], p), ten_points)
        finally:
            await db.close()


async def test_a_migration_that_fails_is_not_applied_in_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A schema at version 1 holding a function in 0002's way: the start fails with one line
    saying why, and the schema stays at version 1 with none of 0002 in it; without the
    obstacle the next start applies 0002 whole."""
    async with fresh_schema() as url:
        monkeypatch.setattr(database_module, "migrations", lambda: migrations()[:1])
        await (await _opened(url)).close()
        monkeypatch.undo()
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT version FROM stackprep_schema") == 1
            # an operator's own function, with record_answers' name and arguments
            await conn.execute(
                f"CREATE FUNCTION record_answers({SIGNATURE}) RETURNS void LANGUAGE sql AS ''"
            )
            with pytest.raises(StorageUnavailable) as failed:
                await _opened(url)
            assert "\n" not in failed.value.message
            assert "record_answers" in failed.value.message
            assert "already exists" in failed.value.message
            assert await conn.fetchval("SELECT version FROM stackprep_schema") == 1
            assert "answer_contexts" not in await _functions(conn)  # made first, rolled back
            await conn.execute(f"DROP FUNCTION record_answers({SIGNATURE})")
            await (await _opened(url)).close()
            assert await conn.fetchval("SELECT version FROM stackprep_schema") == SCHEMA_VERSION
            assert {"answer_contexts", "record_answers"} <= await _functions(conn)
        finally:
            await conn.close()
