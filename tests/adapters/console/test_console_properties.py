"""Property-based, through the console (the cheapest full path from typed input to output):
any line typed at it, any bytes piped or filed into it. Every line is answered or refused
with a message; nothing is our fault (no apology, no logged error), no control character
of the input reaches the terminal, and the input is read line by line whatever it holds."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from bot.adapters.console import texts
from bot.adapters.console.adapter import ConsoleAdapter
from bot.adapters.console.lines import LINE_MAX, BadLine, Lines, open_lines
from bot.app.bootstrap import App
from bot.core.bank.question_bank import load_bank
from bot.core.common.texts import APOLOGY
from tests.core.properties import ANY_TEXT, THROUGH_SERVICES
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.paths import TEST_BANK

COMMANDS = ["/question", "/q", "n", "/next", "A", "b", "/score", "/leaderboard", "/lb",
            "/topics", "/help", "/practice", "/stop", "/due", "/remind", "", "c", "quit?",
            "1", "again", "/daily"]  # fmt: skip
ARGS = st.lists(
    st.one_of(ANY_TEXT, st.sampled_from(["alpha", "beta", "junior", "3", "all", "global"])),
    max_size=3,
)
LINES = st.one_of(
    ANY_TEXT.map(lambda t: t.replace("\n", " ")),
    st.builds(
        lambda c, a, q: " ".join([c, *(f'"{w}"' if q else w for w in a)]),
        st.sampled_from(COMMANDS), ARGS, st.booleans(),
    ),
)  # fmt: skip
# control characters a terminal would act on (tab and newline are fine)
RAW_CONTROLS = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}
RAW_CONTROLS |= set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u200e\u200f\u061c")


class Errors(logging.Handler):
    """Collects ERROR records: the error policy logs everything that is our fault."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop:
        yield loop


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def console_app(
    request: pytest.FixtureRequest, runner: asyncio.Runner, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("console")
    app = make_app(folder, storage=request.param, bank=load_bank(TEST_BANK), clock=FixedClock())
    runner.run(app.open())
    yield app
    runner.run(app.close())


@THROUGH_SERVICES
@given(lines=st.lists(LINES, min_size=1, max_size=6))
def test_any_typed_line_is_answered_or_refused_never_raw(
    runner: asyncio.Runner, console_app: App, tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
) -> None:  # fmt: skip
    screen = io.StringIO()
    console = ConsoleAdapter(
        console_app.quiz, practice=console_app.practice, user_id="ada",
        console=Console(file=screen, width=120, color_system=None),
        files_dir=tmp_path_factory.getbasetemp(),
    )  # fmt: skip
    errors = Errors()
    logging.getLogger("bot").addHandler(errors)
    try:
        for line in lines:
            assert runner.run(console.handle(line.strip())) in {True, False}
    finally:
        logging.getLogger("bot").removeHandler(errors)
    out = screen.getvalue()
    assert not errors.records, [r.getMessage() for r in errors.records]
    assert APOLOGY not in out and "Traceback" not in out
    assert not set(out) & RAW_CONTROLS, sorted(set(out) & RAW_CONTROLS)


# -- reading input ------------------------------------------------------------------------

PIECES = st.one_of(
    st.binary(max_size=40),
    ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xef\xbb\xbf/help", b"caf\xe9", b"\r", b"\xf0\x9f\x98", b"\x00"]),
    st.integers(LINE_MAX - 2, LINE_MAX + 2).map(lambda n: b"y" * n),
    st.just(b"x" * (2 * LINE_MAX + 3)),
)


def expected(line: bytes) -> str | BadLine:
    if len(line) > LINE_MAX:
        return BadLine(texts.line_too_long(LINE_MAX))
    try:
        return line.decode("utf-8").rstrip("\r\n").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        return BadLine(texts.not_utf8(line[exc.start], exc.start))


async def read_all(lines: Lines) -> list[str | BadLine]:
    out: list[str | BadLine] = []
    while (line := await lines.next()) is not None:
        out.append(line)
    return out


@THROUGH_SERVICES
@given(pieces=st.lists(PIECES, max_size=5), last_newline=st.booleans())
def test_any_bytes_are_read_line_by_line_from_a_pipe_and_a_file(
    runner: asyncio.Runner,
    tmp_path_factory: pytest.TempPathFactory,
    pieces: list[bytes],
    last_newline: bool,
) -> None:
    lines = [p.replace(b"\n", b"") for p in pieces]
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    if lines and not last_newline and lines[-1] == b"":
        lines = lines[:-1]  # "a\n" + "" is one line, not two
    want = [expected(line) for line in lines]

    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_fd, "r") as pipe:
        from_pipe = runner.run(_read(pipe))
    writer.join()
    assert from_pipe == want

    path = tmp_path_factory.getbasetemp() / "input.txt"
    path.write_bytes(data)
    with path.open("r") as file:
        assert runner.run(_read(file)) == want


async def _read(stdin: io.TextIOWrapper) -> list[str | BadLine]:
    return await read_all(await open_lines(stdin))


def test_a_text_stream_is_read_line_by_line_too() -> None:
    text = io.StringIO("/help\r\n" + "q" * (LINE_MAX + 1) + "\n\ufeff/topics")
    got = asyncio.run(read_all(asyncio.run(_opened(text))))
    assert got == ["/help", BadLine(texts.line_too_long(LINE_MAX)), "/topics"]


async def _opened(stdin: io.StringIO) -> Lines:
    return await open_lines(stdin)
