"""PostgreSQL for the tests: the server `.ci/run` starts (STACKPREP_TEST_POSTGRES_URL, from
`.ci/postgres start`) and a fresh schema per test in it, dropped after.

Without that variable the PostgreSQL tests skip with one line saying how to run them; under
CI (CI=true) they fail instead, so a CI run can never pass without them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from bot.storage.postgres import PgDatabase

ENV_URL = "STACKPREP_TEST_POSTGRES_URL"
HOW = (
    f"PostgreSQL tests skipped: {ENV_URL} is not set "
    '(run `eval "$(.ci/postgres start)"` first, as .ci/run does)'
)


# Taken out of the environment at import: a STACKPREP_* variable that is no setting makes
# every command the tests run warn about it (and the commands get their URLs explicitly).
_URL = os.environ.pop(ENV_URL, "").strip()


def server_url() -> str:
    """The test server's URL; skips (or, under CI, fails) when there is none."""
    url = _URL
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {ENV_URL} is not set: .ci/run starts PostgreSQL for the tests")
    pytest.skip(HOW)


def in_schema(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema`."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": schema})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@asynccontextmanager
async def fresh_schema(url: str | None = None) -> AsyncIterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped after."""
    base = url or server_url()
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
    finally:
        await conn.close()
    try:
        yield in_schema(base, name)
    finally:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f"DROP SCHEMA {name} CASCADE")
        finally:
            await conn.close()


@contextmanager
def fresh_schema_sync(runner: asyncio.Runner) -> Iterator[str]:
    """fresh_schema for module-scoped fixtures that run on an asyncio.Runner."""
    manager = fresh_schema()
    url = runner.run(manager.__aenter__())
    try:
        yield url
    finally:
        runner.run(manager.__aexit__(None, None, None))


@asynccontextmanager
async def databases(count: int = 2, **options: Any) -> AsyncIterator[list[PgDatabase]]:
    """`count` open PgDatabase pools on one fresh schema: as many processes sharing one
    database (each pool its own connections, as each process has)."""
    async with fresh_schema() as url:
        opened: list[PgDatabase] = []
        try:
            for _ in range(count):
                database = PgDatabase(url, min_size=1, max_size=4, **options)
                await database.open()
                opened.append(database)
            yield opened
        finally:
            for database in opened:
                await database.close()
