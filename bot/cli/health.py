"""`stackprep health`: ask the running bot's `/healthz` and exit 0 (healthy) or 1 (not).

For scripts and container health checks (the Dockerfile's HEALTHCHECK). It reads `[ops]
listen` from the same configuration as the bot (a wildcard address is asked on loopback) and
prints one line: what is healthy, or why not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import urllib.error
import urllib.request
from typing import Any, TextIO

from bot.config import Config
from bot.core.common.address import connectable, parse_listen

TIMEOUT = 5.0  # seconds; the bot answers /healthz within its own 2 s database probe


def listen_arg(text: str) -> tuple[str, int]:
    """argparse type for --listen: the same parser as `[ops] listen`."""
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected {exc}") from None


def check(
    config: Config,
    out: TextIO,
    err: TextIO,
    *,
    listen: tuple[str, int] | None = None,
    timeout: float = TIMEOUT,
) -> int:
    """GET /healthz of the listener at `listen` (default: `[ops] listen`); 0 if healthy."""
    address = listen or config.ops.listen
    if address is None:
        print(
            "stackprep health: no listener to ask: set [ops] listen (e.g. "
            '"127.0.0.1:9108") for the bot and this command, or pass --listen HOST:PORT',
            file=err,
        )
        return 1
    host, port = address
    if port == 0:
        print("stackprep health: [ops] listen has port 0 (any free port): pass --listen", file=err)
        return 1
    shown = connectable(host)
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/healthz"
    # never through a proxy (HTTP_PROXY in a container's environment would take the probe away)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:  # 503 and friends still carry the JSON report
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        print(f"unhealthy: no answer from {url} ({_one_line(str(reason))})", file=err)
        return 1
    report = _json(raw)
    if status == 200:
        checks = report.get("checks")
        found = checks.items() if isinstance(checks, dict) else ()
        parts = ", ".join(f"{k} {v}" for k, v in found) or "ok"
        print(f"healthy: {parts}", file=out)
        return 0
    reason = report.get("reason") or f"HTTP {status} from {url}"
    print(f"unhealthy: {reason}", file=err)
    return 1


def _one_line(text: str, limit: int = 200) -> str:
    """Whatever answered (maybe another service's bytes) as one printable line."""
    return "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))[:limit]


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
