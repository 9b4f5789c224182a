"""The capped download of a member's file (bot/adapters/download.py) against a real HTTP server
on 127.0.0.1: at most the limit is read, whatever the size said, and no error shows the URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.adapters.download import DownloadFailed, TooLarge, fetch, fetch_file, read_local
from bot.core.common.errors import QuizError
from tests.fakes.served import serve_bytes

LIMIT = 1000
SECRET_PATH = "/file/bot123456:SECRET-token/documents/file_1.toml"


class Server:
    def __init__(self) -> None:
        self.sent = 0
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind == "missing":
            return web.Response(status=404)
        if kind == "slow":  # never answers (ended by the runner's cleanup)
            await asyncio.Event().wait()
        if kind == "declared":  # says how long it is: too long
            return web.Response(body=b"x" * (LIMIT + 1))

        def count(size: int) -> None:
            self.sent += size

        size = int(request.match_info["size"])
        return await serve_bytes(request, b"y" * size, endless=kind == "endless", sent=count)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    served = Server()
    app = web.Application()
    app.router.add_get("/{kind}/{size}/{rest:.*}", served.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    served.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield served
    await runner.cleanup()


@pytest.mark.parametrize("size", [0, 1, LIMIT - 1, LIMIT])
async def test_a_file_within_the_limit_comes_whole(server: Server, size: int) -> None:
    assert await fetch(f"{server.base}/exact/{size}/f.toml", limit=LIMIT) == b"y" * size


async def test_one_byte_over_the_limit_is_refused(server: Server) -> None:
    with pytest.raises(TooLarge) as refused:
        await fetch(f"{server.base}/exact/{LIMIT + 1}/f.toml", limit=LIMIT)
    assert refused.value.limit == LIMIT


async def test_an_endless_file_is_cut_at_the_limit(server: Server) -> None:
    """A platform that lied about the size (or a server that never ends) does not make the
    bot read on: the reading stops right after the limit."""
    with pytest.raises(TooLarge):
        await asyncio.wait_for(fetch(f"{server.base}/endless/4096/f.toml", limit=LIMIT), 5)


async def test_a_declared_length_over_the_limit_is_refused_before_reading(server: Server) -> None:
    with pytest.raises(TooLarge):
        await fetch(f"{server.base}/declared/0/f.toml", limit=LIMIT)


async def test_failures_never_show_the_url(server: Server) -> None:
    """A Telegram file URL holds the bot token: not in any error's text."""
    with pytest.raises(DownloadFailed) as missing:
        await fetch(f"{server.base}/missing/0{SECRET_PATH}", limit=LIMIT)
    assert str(missing.value) == "the file server answered 404"
    with pytest.raises(DownloadFailed) as slow:
        await fetch(f"{server.base}/slow/0{SECRET_PATH}", limit=LIMIT, seconds=0.2)
    assert str(slow.value) == "it took longer than 0.2 s"
    closed = f"http://127.0.0.1:9{SECRET_PATH}"  # nothing listens on port 9
    with pytest.raises(DownloadFailed) as refused:
        await fetch(closed, limit=LIMIT)
    assert str(refused.value).startswith("the connection failed (")
    for error in (missing.value, slow.value, refused.value):
        assert "SECRET" not in repr(error)
    for error in (slow.value, refused.value):  # nor in a traceback's chained exception
        assert error.__suppress_context__ and error.__cause__ is None


def test_a_local_file_is_read_up_to_the_limit(tmp_path: Path) -> None:
    inside, over = tmp_path / "in.toml", tmp_path / "over.toml"
    inside.write_bytes(b"z" * LIMIT)
    over.write_bytes(b"z" * (LIMIT + 1))
    assert read_local(str(inside), limit=LIMIT) == b"z" * LIMIT
    with pytest.raises(TooLarge):
        read_local(str(over), limit=LIMIT)
    with pytest.raises(DownloadFailed, match="could not be read"):
        read_local(str(tmp_path / "gone.toml"), limit=LIMIT)


async def test_fetch_file_says_what_went_wrong_in_the_members_words(
    server: Server, tmp_path: Path
) -> None:
    with pytest.raises(QuizError) as over:
        await fetch_file(f"{server.base}/endless/4096/f.toml", filename="acme.toml", limit=LIMIT)
    assert over.value.message == (
        "acme.toml: the file is larger than 0.000953674 MB, the limit. Split it into smaller "
        "topics."
    )
    with pytest.raises(QuizError) as gone:
        await fetch_file(f"{server.base}/missing/0{SECRET_PATH}", filename="a.toml", limit=LIMIT)
    assert gone.value.message == (
        "I couldn't download a.toml (the file server answered 404). Nothing was imported; try "
        "again in a minute."
    )
    local = tmp_path / "local.toml"  # a local Bot API server hands out a path, not a URL
    local.write_bytes(b"topic = 'x'")
    assert await fetch_file(str(local), filename="x.toml", limit=LIMIT) == b"topic = 'x'"
