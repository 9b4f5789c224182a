"""The run loop (`bot.app.run`): signals, and how a fatal adapter error ends the process.

A fatal AdapterError ends the run with that one error (the CLI logs it as one line and exits
with code 1) whenever it happens: at the start, long after, or while stopping on a signal. An
adapter that crashes or stops serving on its own is fatal too, so a supervisor restarts the
bot instead of leaving a process that serves nothing. No path leaves a task whose exception
nobody retrieved ("Task exception was never retrieved").
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import AdapterError
from bot.app import run as runtime
from tests.fakes.console import answer_all_right
from tests.fakes.paths import TEST_BANK


@dataclass
class ScriptedAdapter:
    """An adapter that serves until cancelled, or fails with `fails_with` after `after`
    seconds, or (with `returns`) stops on its own; with `fails_on_stop` its stop fails."""

    name: str = "scripted"
    after: float | None = None
    fails_with: BaseException | None = None
    returns: bool = False
    fails_on_stop: BaseException | None = None
    stopped: bool = False
    events: list[str] = field(default_factory=list)

    def connected(self) -> bool:
        return not self.stopped

    async def run(self) -> None:
        try:
            if self.after is None:
                await asyncio.Event().wait()
                return
            await asyncio.sleep(self.after)
            if self.fails_with is not None:
                raise self.fails_with
            if not self.returns:
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.stopped = True
            if self.fails_on_stop is not None:
                raise self.fails_on_stop from None
            raise


@pytest.fixture
async def unretrieved() -> AsyncIterator[list[str]]:
    """What the loop reports about tasks whose exception nobody retrieved, after a gc."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(str(context.get("message")))

    loop.set_exception_handler(handler)
    yield seen
    loop.set_exception_handler(previous)


def collect() -> None:
    for _ in range(3):
        gc.collect()


async def test_a_fatal_error_long_after_the_start_ends_the_run_with_that_error(
    unretrieved: list[str],
) -> None:
    healthy = ScriptedAdapter("discord")
    revoked = ScriptedAdapter("telegram", after=0.05, fails_with=AdapterError("token revoked"))
    with pytest.raises(AdapterError, match=r"^token revoked$"):
        await asyncio.wait_for(runtime._run_all([healthy, revoked]), 5)
    assert healthy.stopped  # the first fatal error stops them all
    collect()
    assert unretrieved == []


async def test_a_fatal_error_while_stopping_on_a_signal_still_ends_the_run_with_it(
    unretrieved: list[str],
) -> None:
    """SIGTERM cancels the run; an adapter whose stop finds the token revoked must not be
    lost in the cancellation (it was, with "Task exception was never retrieved" and exit 0)."""
    failing = ScriptedAdapter("telegram", fails_on_stop=AdapterError("rejected while stopping"))
    task = asyncio.create_task(runtime._run_all([failing, ScriptedAdapter("discord")]))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(AdapterError, match="rejected while stopping"):
        await task
    del task
    collect()
    assert unretrieved == []


async def test_until_signal_returns_the_fatal_error_raised_while_stopping() -> None:
    failing = ScriptedAdapter("telegram", fails_on_stop=AdapterError("rejected while stopping"))
    until = asyncio.create_task(runtime._until_signal(runtime._run_all([failing])))
    await asyncio.sleep(0.05)
    signal.raise_signal(signal.SIGTERM)
    with pytest.raises(AdapterError, match="rejected while stopping"):
        await asyncio.wait_for(until, 5)


async def test_an_adapter_that_crashes_ends_the_run_with_one_line_and_logs_why(
    caplog: pytest.LogCaptureFixture, unretrieved: list[str]
) -> None:
    crashing = ScriptedAdapter("discord", after=0.01, fails_with=RuntimeError("bug in a handler"))
    with pytest.raises(AdapterError) as failure:
        await asyncio.wait_for(runtime._run_all([crashing, ScriptedAdapter("telegram")]), 5)
    message = str(failure.value)
    assert "discord stopped" in message and "RuntimeError" in message and "\n" not in message
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert logged and "bug in a handler" in str(logged[0].exc_info[1])  # type: ignore[index]
    collect()
    assert unretrieved == []


async def test_an_adapter_that_stops_serving_on_its_own_is_fatal() -> None:
    """A platform that silently stopped (polling ended, client closed) must not leave a
    process that looks alive and serves nothing."""
    quitter = ScriptedAdapter("telegram", after=0.01, returns=True)
    other = ScriptedAdapter("discord")
    with pytest.raises(AdapterError, match="telegram stopped serving"):
        await asyncio.wait_for(runtime._run_all([quitter, other]), 5)
    assert other.stopped


async def test_a_scheduler_that_fails_is_logged_at_once_and_the_adapters_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken_scheduler() -> None:
        raise RuntimeError("scheduler bug")

    adapter = ScriptedAdapter("discord")
    task = asyncio.create_task(runtime._run_all([adapter], broken_scheduler()))
    for _ in range(100):
        if any("scheduler" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    assert not task.done() and not adapter.stopped  # the quiz keeps serving
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
async def test_every_stop_signal_stops_cleanly(sig: signal.Signals) -> None:
    # should the run loop not handle `sig`, this keeps it from ending the test process
    previous = signal.signal(sig, lambda *_: None)
    adapter = ScriptedAdapter("discord")
    until = asyncio.create_task(runtime._until_signal(runtime._run_all([adapter])))
    await asyncio.sleep(0.05)
    signal.raise_signal(sig)
    try:
        assert await asyncio.wait_for(until, 5) == 0
    finally:
        signal.signal(sig, previous)
    assert adapter.stopped


def test_sighup_stops_the_console_cleanly_and_keeps_the_answer(tmp_path: Path) -> None:
    """A terminal closing (SIGHUP) used to kill the bot without its clean stop."""
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n')
    db = tmp_path / "answers.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env |= {"STACKPREP_DATABASE": str(db), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "console"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write("/question beta junior\n")
        proc.stdin.flush()
        shown = _read_until(proc, "Answer with")
        proc.stdin.write(f"{answer_all_right(shown)}\n")
        proc.stdin.flush()
        _read_until(proc, "Right!")
        proc.send_signal(signal.SIGHUP)
        code = proc.wait(timeout=30)
        errors = proc.stderr.read()
    finally:
        proc.kill()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    assert code == 0, errors
    assert "stopping" in errors and "SIGHUP" in errors
    assert "Traceback" not in errors
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), sum(correct) FROM answers").fetchone() == (1, 1)


def _read_until(proc: subprocess.Popen[str], text: str) -> str:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"no {text!r} in: {''.join(seen)}")


STUCK_STOP = """
import asyncio, logging, sys
from bot.app import run as runtime

async def stuck() -> int:
    print("ready", flush=True)  # the signal handlers are in place by now
    try:
        await asyncio.Event().wait()
    finally:  # a stop that never finishes (e.g. a write retried for a minute)
        await asyncio.shield(asyncio.Event().wait())
    return 0

logging.basicConfig(level=logging.INFO)
sys.exit(asyncio.run(runtime._until_signal(stuck())))
"""


def test_a_second_signal_ends_a_stuck_stop_at_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_STOP],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        errors = ""
        while "stopping on SIGTERM" not in errors and time.monotonic() < deadline:
            errors += proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        errors += proc.stderr.read()
    finally:
        proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 130, errors
    assert "stopping at once on a second SIGTERM" in errors
