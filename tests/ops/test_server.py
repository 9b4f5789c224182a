"""The operators' listener on 127.0.0.1: /healthz over a real SQLite database and adapter
doubles, /metrics in the Prometheus text format, wired as `stackprep run` wires them
(`bot.app.operations.listening`)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.base import AdapterError
from bot.app.bootstrap import App
from bot.app.operations import Listener, listening, metrics_for
from bot.config import OpsConfig
from bot.core.common.errors import StorageUnavailable
from bot.ops.health import Health
from bot.ops.metrics import CONTENT_TYPE, OpsMetrics
from bot.ops.server import OpsServer
from tests.fakes.app import make_app, make_config
from tests.fakes.people import ADA, DM

LOOPBACK = OpsConfig(listen=("127.0.0.1", 0))


@dataclass
class PlatformDouble:
    """An adapter double: only what the health check asks of an adapter."""

    name: str
    up: bool = True

    def connected(self) -> bool:
        return self.up


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def health_of(server: OpsServer) -> tuple[int, dict[str, Any]]:
    status, kind, body = await get(f"{server.url}/healthz")
    assert kind.startswith("application/json")
    return status, json.loads(body)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[App, Listener, OpsServer]]:
    """A SQLite app with metrics on and its listener on 127.0.0.1 (a free port), open."""
    config = replace(make_config(tmp_path), ops=LOOPBACK)
    app = make_app(tmp_path, metrics=metrics_for(config))
    async with listening(config, app) as ops, app:
        assert ops.server is not None and ops.server.port != 0
        yield app, ops, ops.server


async def test_healthz_is_200_when_the_database_answers_and_every_platform_is_connected(
    served: tuple[App, Listener, OpsServer],
) -> None:
    _, ops, server = served
    ops.watch([PlatformDouble("discord"), PlatformDouble("telegram")])
    status, body = await health_of(server)
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "discord": "connected", "telegram": "connected"},
    }


async def test_healthz_is_503_naming_the_platform_that_is_not_connected(
    served: tuple[App, Listener, OpsServer],
) -> None:
    _, ops, server = served
    telegram = PlatformDouble("telegram", up=False)
    ops.watch([PlatformDouble("discord"), telegram])
    status, body = await health_of(server)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["reason"] == "telegram: not connected"
    assert body["checks"]["database"] == "ok" and body["checks"]["discord"] == "connected"
    telegram.up = True  # reconnected: healthy again, with no restart
    assert (await health_of(server))[0] == 200


async def test_healthz_is_503_while_writes_fail_though_reads_answer(
    served: tuple[App, Listener, OpsServer],
) -> None:
    """A read-only file (or a full disk): reads still answer, but nothing can be saved."""
    app, _, server = served
    assert app.database is not None
    await app.database.write("PRAGMA query_only = 1")  # SQLITE_READONLY for writes
    assert (await health_of(server))[0] == 200  # nothing has tried to write yet
    with pytest.raises(StorageUnavailable):  # a person asking for a question: a round to save
        await app.quiz.ask(ADA, "Ada", DM, question_id="beta-one")
    status, body = await health_of(server)
    assert status == 503, body
    assert body["reason"].startswith("database: writes are failing:")
    assert "read-only" in body["reason"]


async def test_healthz_is_503_while_the_database_is_not_open(tmp_path: Path) -> None:
    """Entered before the app opens (as `run` does): 503 during start-up and after close."""
    config = replace(make_config(tmp_path), ops=LOOPBACK)
    app = make_app(tmp_path, metrics=metrics_for(config))
    async with listening(config, app) as ops:
        assert ops.server is not None
        status, body = await health_of(ops.server)
        assert status == 503 and body["reason"] == "database: The database is not open."
        async with app:
            assert (await health_of(ops.server))[0] == 200
        status, body = await health_of(ops.server)
        assert status == 503 and "not open" in body["reason"]


async def test_healthz_is_503_when_the_database_does_not_answer_in_time(tmp_path: Path) -> None:
    """A database read that does not come back (as one stuck behind a lock would): the
    probe gives up after its timeout and says so."""
    app = make_app(tmp_path)
    async with app:
        assert app.database is not None
        database = app.database
        gate = asyncio.Event()

        async def stuck() -> object:
            await gate.wait()  # the read never comes back within the probe's time
            return await database.read("SELECT 1")

        health = Health(stuck, timeout=0.05)
        async with OpsServer(OpsMetrics(), health, "127.0.0.1", 0) as server:
            status, body = await health_of(server)
        gate.set()
    assert status == 503 and body["reason"] == "database: no answer within 0.05 s"


async def test_metrics_is_the_prometheus_text_format(
    served: tuple[App, Listener, OpsServer],
) -> None:
    _, _, server = served
    status, kind, body = await get(f"{server.url}/metrics")
    assert status == 200 and kind == CONTENT_TYPE
    names = {family.name for family in text_string_to_metric_families(body)}
    assert {"stackprep_answers", "stackprep_writer_queue_depth"} <= names


async def test_unknown_paths_are_404(served: tuple[App, Listener, OpsServer]) -> None:
    _, _, server = served
    assert (await get(f"{server.url}/admin"))[0] == 404


async def test_listener_is_off_unless_configured(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = make_app(tmp_path, metrics=metrics_for(config))
    assert not isinstance(app.metrics, OpsMetrics)
    async with listening(config, app) as ops:
        assert ops.server is None


async def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = replace(make_config(tmp_path), ops=OpsConfig(listen=("127.0.0.1", port)))
        app = make_app(tmp_path, metrics=metrics_for(config))
        with pytest.raises(AdapterError) as caught:
            async with listening(config, app):
                pass
    assert str(caught.value).startswith(f"ops: cannot listen on 127.0.0.1:{port} (")
    assert "change [ops] listen" in str(caught.value)
