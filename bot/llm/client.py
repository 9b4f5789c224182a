"""`ChatCompletionsGrader`: the core's ModelGrader port over an OpenAI-compatible chat
completions endpoint (`POST <base_url>/chat/completions`), with aiohttp.

One ClientSession, opened on the first call (inside the running loop) and closed by
`close()`. Each call has `timeout` seconds in all (connecting, sending, the model thinking,
reading); anything that goes wrong is a ModelGradingFailed: a timeout, 429 (with the server's
Retry-After, in seconds), any other status, a redirect (never followed: the key would go
along), a refused connection, a reply body over MAX_REPLY_BYTES or one that does not validate
(bot/llm/chat.py). The key goes only into the Authorization header as a Bearer token: it is
kept as a Secret (no repr shows it), and no error or log line carries a header, a body or the
server's text.
"""

from __future__ import annotations

import asyncio
import math

import aiohttp

from bot.core.common.secret import Secret
from bot.core.practice.model_grading import (
    Failure,
    ModelGradingFailed,
    ModelRequest,
    ModelVerdict,
)
from bot.llm.chat import MAX_REPLY_BYTES, parse_completion, request_body

DEFAULT_TIMEOUT = 8.0
MAX_CONNECTIONS = 8


def endpoint(base_url: str) -> str:
    """The chat completions URL under `base_url` ("http://127.0.0.1:11434/v1")."""
    base = base_url.rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (its HTTP-date form is not used by these APIs: None)."""
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class ChatCompletionsGrader:
    """Grades answers with a model behind an OpenAI-compatible API (see the module doc)."""

    def __init__(
        self, base_url: str, model: str, api_key: Secret, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.url = endpoint(base_url)
        self.model = model
        self.timeout = timeout
        self._key = api_key
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"ChatCompletionsGrader(url={self.url!r}, model={self.model!r})"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def assess(self, request: ModelRequest) -> ModelVerdict:
        """The model's validated verdict on one answer, or ModelGradingFailed."""
        headers = {
            "Authorization": f"Bearer {self._key.reveal()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        body = request_body(self.model, request)
        try:
            async with asyncio.timeout(self.timeout):
                raw = await self._post(body, headers)
        except TimeoutError:
            raise ModelGradingFailed(
                Failure.TIMEOUT, f"no reply within {self.timeout:g} s"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ModelGradingFailed(Failure.HTTP_ERROR, type(exc).__name__) from None
        return parse_completion(raw, request)

    async def _post(self, body: bytes, headers: dict[str, str]) -> bytes:
        session = self._client()
        async with session.post(
            self.url, data=body, headers=headers, allow_redirects=False
        ) as response:
            if response.status == 429:
                raise ModelGradingFailed(
                    Failure.RATE_LIMITED, "HTTP 429",
                    _retry_after(response.headers.get("Retry-After")),
                )  # fmt: skip
            if response.status != 200:
                raise ModelGradingFailed(Failure.HTTP_ERROR, f"HTTP {response.status}")
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise ModelGradingFailed(
                        Failure.INVALID_REPLY, f"reply over {MAX_REPLY_BYTES} bytes"
                    )
                chunks.append(chunk)
            return b"".join(chunks)
