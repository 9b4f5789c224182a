"""Serving a file's bytes as a CDN or Telegram's file server does, for the platform doubles:
with its length, or endless (the same bytes again and again, no Content-Length) to test that
a reader stops at its own limit whatever the platform said about the size."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web


async def serve_bytes(
    request: web.Request, data: bytes, *, endless: bool, sent: Callable[[int], None]
) -> web.StreamResponse:
    """Write `data` (forever when `endless`) to the reader, telling `sent` each chunk's size;
    a reader that hangs up ends it quietly."""
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    if not endless:
        response.content_length = len(data)
    await response.prepare(request)
    try:
        while True:
            await response.write(data)
            sent(len(data))
            if not endless:
                break
        await response.write_eof()
    except (ConnectionError, RuntimeError):  # the reader hung up (as it should, on a lie)
        pass
    return response
