"""An OpenAI-compatible chat completions API over real HTTP on 127.0.0.1, for the model grader.

`POST /v1/chat/completions` records each request (headers and JSON body) and answers as
`mode` says: "ok" (a verdict made by `verdict`, by default every key point hit with a quote
from the answer), "slow" (the same, after `delay` seconds), "429" (with Retry-After), "500",
"malformed" (a body that is not JSON), "redirect" (307 elsewhere), "content" (`content` as
the message's content, any text). A test reads `requests` to see what the bot sent;
`arrived` is set at each request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Verdict = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Seen:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        """The user message: question, code, model answer, key points, answer."""
        content = self.body["messages"][-1]["content"]
        data: dict[str, Any] = json.loads(content)
        return data


def all_hit(payload: dict[str, Any]) -> dict[str, Any]:
    """Every key point hit, each quoting the answer's first words."""
    quote = " ".join(payload["answer"].split()[:4])
    return {
        "key_points": [{"id": k["id"], "hit": True, "quote": quote} for k in payload["key_points"]],
        "misconceptions": [],
        "score": 0.95,
    }


@dataclass(eq=False)
class ChatCompletionsServer:
    mode: str = "ok"
    delay: float = 5.0
    retry_after: str = "12"
    content: str = ""
    verdict: Verdict = all_hit
    requests: list[Seen] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        seen = Seen(dict(request.headers), body)
        self.requests.append(seen)
        self.arrived.set()
        if self.mode == "slow":
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.delay)
        if self.mode == "429":
            return web.json_response(
                {"error": {"message": "Rate limit reached"}}, status=429,
                headers={"Retry-After": self.retry_after},
            )  # fmt: skip
        if self.mode == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if self.mode == "redirect":
            raise web.HTTPTemporaryRedirect("http://127.0.0.1:9/v1/chat/completions")
        if self.mode == "malformed":
            return web.Response(text='{"choices": [', content_type="application/json")
        content = self.content if self.mode == "content" else json.dumps(self.verdict(seen.payload))
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 (a free port); yields the base URL, ".../v1"."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            self._stop.set()
            await runner.cleanup()
