"""The listener in console mode, as an operator runs it: `python -m bot` with `[ops] listen`
set, piped stdin, a real SQLite file; /healthz and /metrics answer while the quiz runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.paths import TEST_BANK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def until(url: str, done: object, seconds: float = 30) -> tuple[int, str]:
    """GET `url` until `done(status, body)` holds (the bot is starting in another process)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, body = fetch(url)
            if done(status, body):  # type: ignore[operator]
                return status, body
        except (urllib.error.URLError, OSError):
            pass
        assert time.monotonic() < deadline, f"no expected answer from {url}"
        time.sleep(0.05)


def answered(body: str) -> float:
    return sum(
        s.value
        for f in text_string_to_metric_families(body)
        for s in f.samples
        if s.name == "stackprep_answers_total"
    )


def test_console_serves_healthz_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "q.db"\n'
        f'[ops]\nlisten = "127.0.0.1:{port}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "console"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    base = f"http://127.0.0.1:{port}"
    try:
        _, body = until(f"{base}/healthz", lambda s, b: s == 200)
        assert json.loads(body) == {"status": "ok", "checks": {"database": "ok"}}
        proc.stdin.write("/question beta junior\nA\n")
        proc.stdin.flush()
        _, metrics = until(f"{base}/metrics", lambda s, b: answered(b) == 1)
        assert (
            'stackprep_commands_total{command="question",outcome="ok",platform="console"}'
            " 1.0" in metrics
        )
        assert "stackprep_answer_seconds_count 1.0" in metrics
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert f"ops: serving /healthz and /metrics on {base}" in stderr
    assert "Traceback" not in stderr
