"""`stackprep health` against a real listener on 127.0.0.1: exit 0 healthy, 1 not, with the
reason on one line; and the clear answers when there is nothing to ask."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.ops.health import Health
from bot.ops.metrics import OpsMetrics
from bot.ops.server import OpsServer
from tests.fakes.app import make_app


@dataclass
class PlatformDouble:
    name: str
    up: bool

    def connected(self) -> bool:
        return self.up


@pytest.fixture(autouse=True)
def _no_stackprep_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("STACKPREP_CONFIG", "STACKPREP_OPS_LISTEN", "STACKPREP_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


async def health_cli(*args: str) -> int:
    """`stackprep health ...` on a thread, so the listener on this loop can answer it."""
    return await asyncio.to_thread(main, ["health", *args])


async def test_exit_0_when_healthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path)
    async with app:
        assert app.database is not None
        database = app.database
        health = Health(lambda: database.read("SELECT count(*) FROM sqlite_master"))
        health.watch([PlatformDouble("telegram", up=True)])
        async with OpsServer(OpsMetrics(), health, "127.0.0.1", 0) as server:
            code = await health_cli("--listen", f"127.0.0.1:{server.port}")
    assert code == 0
    assert capsys.readouterr().out == "healthy: database ok, telegram connected\n"


async def test_exit_1_with_the_reason_when_a_platform_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(tmp_path)
    async with app:
        assert app.database is not None
        database = app.database
        health = Health(lambda: database.read("SELECT 1"))
        health.watch([PlatformDouble("discord", up=False)])
        async with OpsServer(OpsMetrics(), health, "127.0.0.1", 0) as server:
            code = await health_cli("--listen", f"127.0.0.1:{server.port}")
    assert code == 1
    assert capsys.readouterr().err == "unhealthy: discord: not connected\n"


async def test_the_listen_address_comes_from_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wildcard `[ops] listen` is asked on loopback; the database closed is a reason."""
    app = make_app(tmp_path)  # never opened: its database does not answer
    assert app.database is not None
    database = app.database
    health = Health(lambda: database.read("SELECT 1"))
    async with OpsServer(OpsMetrics(), health, "0.0.0.0", 0) as server:
        config = tmp_path / "c.toml"
        config.write_text(f'[ops]\nlisten = "0.0.0.0:{server.port}"\n')
        code = await asyncio.to_thread(main, ["--config", str(config), "health"])
    assert code == 1
    assert capsys.readouterr().err == "unhealthy: database: The database is not open.\n"


def test_exit_1_when_nothing_listens(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        assert main(["health", "--listen", f"127.0.0.1:{port}", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"unhealthy: no answer from http://127.0.0.1:{port}/healthz (")


def test_exit_1_when_no_listener_is_configured(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health"]) == 1
    assert "set [ops] listen" in capsys.readouterr().err


def test_a_bad_listen_argument_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["health", "--listen", "localhost"])
    assert exited.value.code == 2
    assert "argument --listen: expected host:port" in capsys.readouterr().err


async def test_a_proxy_in_the_environment_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("HTTP_PROXY", "http_proxy"):  # a proxy that would never answer
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    app = make_app(tmp_path)
    async with app:
        assert app.database is not None
        database = app.database
        health = Health(lambda: database.read("SELECT 1"))
        async with OpsServer(OpsMetrics(), health, "127.0.0.1", 0) as server:
            code = await health_cli("--listen", f"127.0.0.1:{server.port}")
    assert code == 0, capsys.readouterr().err


async def test_something_else_on_the_port_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")  # e.g. another service on the port
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        code = await health_cli("--listen", f"127.0.0.1:{port}")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("unhealthy: no answer from") and err.count("\n") == 1
