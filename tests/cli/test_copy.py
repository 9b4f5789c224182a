"""`stackprep db copy --from SQLITE --to POSTGRESQL` through `main`, as an operator runs it: a
SQLite database the real app filled (answers, daily posts, practice, games, reports, a
community's questions) moved into a fresh PostgreSQL schema, row for row; the copy's app shows
the same boards, stats and due cards; a non-empty target, a bad source or a failure halfway
leaves the target as it was, with one line; the password never shows."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.app.dbcopy import CopyFailed, Totals, source_path
from bot.cli.entry import main
from bot.core.bank.questions import LABELS
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.secret import passwords_in
from bot.core.delivery import Inbound
from bot.core.quiz.service import Asked
from bot.storage.sqlite.migrations import APPLICATION_ID, migrations, statements
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.community import community_file, proposal
from tests.fakes.outbox import FakeOutbox
from tests.fakes.people import ADA, DM
from tests.fakes.postgres import fresh_schema, server_url

GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")
SERVER = ChatRef(Platform.DISCORD, "555", "777")  # channel 555 of server 777: a community
PEOPLE = [UserRef(Platform.TELEGRAM, str(100 + n)) for n in range(5)]
NOWHERE = "postgresql://stackprep@127.0.0.1:1/stackprep"  # never reached: the source fails first
PASSWORD = "Sü per/Sécret:pw"  # spaces, slashes, a colon and accents: percent-encoded


# -- filling a SQLite database through the app ------------------------------------------------


async def answer(app: App, asked: Asked, who: UserRef, name: str, *, right: bool) -> None:
    question = app.quiz.library.get(asked.round.question_id)
    assert question is not None
    good = asked.round.correct_label(question)
    label = good if right else next(x for x in LABELS[: len(asked.round.order)] if x != good)
    await app.quiz.answer_choice(who, name, asked.round.id, label)


async def fill(app: App, clock: FixedClock) -> None:
    """Something in every table, written the way the bot writes it."""
    # a community's own questions and a member's proposal (community_*)
    await app.community.import_file(
        PEOPLE[0], "P0", SERVER, admin=True, filename="acme.toml", data=community_file()
    )
    await app.community.propose(PEOPLE[1], "P1", SERVER, proposal())
    # /question in a group and in a server over two days: rounds, seen, answers, boards
    for day in range(2):
        for chat in (GROUP, SERVER):
            for n, asker in enumerate(PEOPLE):
                asked = await app.quiz.ask(asker, f"P{n}", chat)
                await app.quiz.link(chat.platform, f"msg-{asked.round.id}", asked.round.id)
                for m, who in enumerate(PEOPLE[: 2 + n]):
                    await answer(app, asked, who, f"P{m}", right=(m + n + day) % 3 != 0)
        clock.advance(days=1)
    # the daily question: a subscription, its claim, the post and the reveal
    outbox = FakeOutbox()
    clock.advance(hours=-2)  # 10:00 UTC: today's 09:00 post is open
    await app.daily.subscribe(GROUP, [], is_admin=True)
    sub = await app.daily.store.subscription_for(GROUP)
    assert sub is not None
    posted = await app.daily.run_post(sub, clock.now().date(), outbox)
    assert posted.claim is not None and outbox.questions()
    daily = outbox.questions()[0].asked
    assert daily is not None
    for m, who in enumerate(PEOPLE):
        await answer(app, daily, who, f"P{m}", right=m % 2 == 0)
    await app.daily.run_reveal(posted.claim, outbox)
    # a game (stopped after its first question), a report, Telegram's inbox
    await app.games.start(PEOPLE[0], "P0", GROUP, "5")
    [game] = await app.games.running()
    opened = await app.games.open_next(game)
    assert opened is not None
    await answer(app, opened[1], PEOPLE[2], "P2", right=True)
    await app.games.stop(PEOPLE[0], "P0", GROUP, admin=True)
    await app.reports.file(PEOPLE[3], "P3", daily.round.id, "unclear", "which version?")
    await app.inbox.add([Inbound(7001, '{"update_id": 7001}'), Inbound(7002, "{}")])
    await app.inbox.done([7001])
    # practice: a session with a rating, a reminder, a plan; cards from every answer
    step = await app.practice.start(ADA, "Ada", DM)
    token = step.replies[-1].choices[0].token
    await app.practice.press(ADA, "Ada", token)
    await app.practice.remind(ADA, "Ada", DM, ["08:00"])
    await app.practice.plan(ADA, "Ada", DM, [f"{clock.now().date().replace(month=12, day=28)}"])
    await app.practice.flush()


def tables_of(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]


def sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}"), key=repr)


async def pg_rows(url: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table}")
    finally:
        await conn.close()
    return sorted((tuple(r) for r in rows), key=repr)


def column_names(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def failure(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a failed command printed on stderr (nothing on stdout; besides it only
    log lines, such as the target's migration)."""
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err, err
    [line] = [x for x in err.splitlines() if not x[:4].isdigit()]  # log lines start with a date
    assert line.startswith("stackprep: ")
    return line


async def run(*argv: str) -> int:
    """`stackprep ARGV` as a command line runs it (main starts its own event loop)."""
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
async def filled(tmp_path: Path, clock: FixedClock) -> Path:
    """A SQLite database the app filled, closed again (as after stopping the bot)."""
    async with make_app(tmp_path, clock=clock) as app:
        await fill(app, clock)
    return tmp_path / "stackprep.db"


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async with fresh_schema() as url:
        yield url


def moved(url: str, *, port: int | None = None, db: str | None = None) -> str:
    """`url` with another port or database."""
    parts = urlsplit(url)
    netloc = parts.netloc if port is None else f"{parts.netloc.rsplit(':', 1)[0]}:{port}"
    path = parts.path if db is None else f"/{db}"
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A new, empty database on the test server (a plain URL: no query, no password)."""
    name = f"copy_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield moved(server_url(), db=name)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def with_password(url: str, password: str = PASSWORD) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# -- the copy ---------------------------------------------------------------------------------


async def test_every_row_is_copied_with_the_same_values(
    filled: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tables_of(filled)
    empty = [t for t in tables if not sqlite_rows(filled, t)]
    assert empty == []  # the fill reaches every table, so the copy of each is tested
    assert await run("db", "copy", "--from", f"sqlite:///{filled}", "--to", target) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["table", "rows"]
    shown = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in out[1:-3]}
    assert shown == {t: len(sqlite_rows(filled, t)) for t in tables}
    assert out[-3].startswith("boards: ") and "equal to the source's" in out[-3]
    assert out[-1].startswith(f"copied {filled} into postgresql://")
    for table in tables:
        columns = column_names(filled, table)
        assert await pg_rows(target, table, columns) == sqlite_rows(filled, table), table


async def test_new_rows_after_the_copy_take_fresh_ids(filled: Path, target: str) -> None:
    assert await run("db", "copy", "--from", str(filled), "--to", target) == 0
    conn = await asyncpg.connect(target)
    try:
        identities = [("players", "id"), ("daily_claims", "id"), ("practice_feed", "seq"),
                      ("question_reports", "id"), ("community_proposals", "id")]  # fmt: skip
        for table, column in identities:
            highest = await conn.fetchval(f"SELECT max({column}) FROM {table}")
            following = await conn.fetchval("SELECT nextval(pg_get_serial_sequence($1, $2))",
                                            table, column)  # fmt: skip
            assert following == highest + 1, table
        # the triggers are on again: a new answer updates the board and the player
        board = "SELECT answered FROM scores WHERE player_id = 1 AND scope = 'global' " \
            "AND period = 'all'"  # fmt: skip
        before = await conn.fetchval(board)
        await conn.execute(
            "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
            "opened_at) VALUES ('after-copy', 'alpha-one', 'telegram', '-1', 'ask', '0,1,2', 0)"
        )
        await conn.execute(
            "INSERT INTO answers VALUES ('after-copy', 1, 'alpha-one', 'alpha', 'ask', 'A', 1, "
            "5, 0, 1, 'global', NULL, '2026-W49', '2026-12-01', NULL, NULL)"
        )
        assert await conn.fetchval(board) == before + 1
    finally:
        await conn.close()


async def test_the_copy_serves_the_same_boards_stats_and_cards(
    filled: Path, target: str, tmp_path: Path, clock: FixedClock
) -> None:
    assert await run("db", "copy", "--from", str(filled), "--to", target) == 0

    async def views(app: App) -> list[str]:
        seen = []
        for chat in (GROUP, SERVER):
            for period in ("week", "all"):
                for scope in ("here", "global"):
                    board = await app.quiz.leaderboard(PEOPLE[0], "P0", chat, period, scope)
                    seen.append(board.plain_text())
        for n, person in enumerate(PEOPLE):
            seen.append((await app.quiz.score(person, f"P{n}")).plain_text())
            seen.append((await app.practice.due(person, f"P{n}")).plain_text())  # their cards
        seen.append((await app.practice.due(ADA, "Ada")).plain_text())
        seen.append((await app.practice.progress(ADA, "Ada")).reply.plain_text())
        seen.append((await app.daily.status(GROUP)).plain_text())
        seen.append((await app.community.listing(SERVER)).plain_text())
        seen.append(repr(await app.reports.overview(open_only=False)))
        return seen

    async with make_app(tmp_path, clock=clock) as sqlite_app:
        expected = await views(sqlite_app)
    async with make_app(tmp_path, storage="postgresql", url=target, clock=clock) as pg_app:
        assert await views(pg_app) == expected
        # and it goes on from there: a new person's answer gets a new player and counts
        newcomer = UserRef(Platform.TELEGRAM, "999")
        asked = await pg_app.quiz.ask(newcomer, "New", GROUP)
        await answer(pg_app, asked, newcomer, "New", right=True)
        board = await pg_app.quiz.leaderboard(newcomer, "New", GROUP, "all", "here")
        assert "New" in board.plain_text()


# -- refusals ---------------------------------------------------------------------------------


async def test_a_target_with_rows_is_refused_and_left_as_it_was(
    filled: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run("db", "copy", "--from", str(filled), "--to", target) == 0
    capsys.readouterr()
    before = await pg_rows(target, "answers", ["round_id", "player_id"])
    assert await run("db", "copy", "--from", str(filled), "--to", target) == 1
    line = failure(capsys)
    assert "is not empty (" in line and "writes only into an empty database" in line
    assert await pg_rows(target, "answers", ["round_id", "player_id"]) == before


async def test_a_failure_halfway_leaves_the_target_empty(
    filled: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(filled) as lite:  # SQLite checks no foreign keys unless told to
        lite.execute("INSERT INTO practice_reminders VALUES (4242, 'telegram', '1', '08:00', "
                     "'UTC', NULL)")  # fmt: skip
    assert await run("db", "copy", "--from", str(filled), "--to", target) == 1
    line = failure(capsys)
    assert "Copying table practice_reminders into postgresql://" in line
    assert "foreign key" in line and "nothing was copied" in line
    assert 'Key (player_id)=(4242) is not present in table "players"' in line
    conn = await asyncpg.connect(target)
    try:
        for table in tables_of(filled):
            if table != "practice_watermark":  # the migration's one row, as before
                assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        assert [tuple(r) for r in await conn.fetch("SELECT * FROM practice_watermark")] == [(1, 0)]
        triggers = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'"
        )
        assert triggers == 0  # switched off only inside the transaction that rolled back
    finally:
        await conn.close()


def old_database(path: Path, version: int) -> None:
    """A Stackprep database left at schema `version` by an older Stackprep."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        for _, sql in migrations()[:version]:
            for statement in statements(sql):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


async def test_a_bad_source_is_one_line_and_nothing_is_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 300)
    foreign = tmp_path / "shop.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    old = tmp_path / "old.db"
    old_database(old, 3)
    cases = {
        str(missing): f"There is no source at {missing}.",
        f"sqlite:///{notes}": f"Source {notes} is not a SQLite database. Nothing was copied.",
        str(foreign): f"Source {foreign}: it is not a Stackprep database (it holds tables of "
        "another program: customers)",
        str(old): f"Source {old} is at schema version 3, this Stackprep's is",
        str(tmp_path): f"Source {tmp_path} is a directory, not a database file.",
        "postgresql://x@h/db": "--from takes a SQLite file (sqlite:///PATH or a path), not a "
        "postgresql:// URL",
        "sqlite:///": "--from sqlite:/// names no file",
    }
    for source, expected in cases.items():
        assert await run("db", "copy", "--from", source, "--to", NOWHERE) == 1, source
        assert expected in failure(capsys), source
    assert await run("db", "copy", "--from", str(old), "--to", NOWHERE) == 1
    assert f"(STACKPREP_DATABASE_PATH={old} stackprep db migrate)" in failure(capsys)
    assert notes.read_text() == "not a database\n" * 300  # read, never written
    assert not missing.exists()


async def test_the_target_must_be_a_postgresql_url(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STACKPREP_DATABASE_URL", raising=False)
    assert await run("db", "copy", "--from", str(filled)) == 1
    assert "Name the PostgreSQL database to copy into: --to" in failure(capsys)
    assert await run("db", "copy", "--from", str(filled), "--to", "mysql://u@h/db") == 1
    assert "--to: a URL such as postgresql://" in failure(capsys)


# -- the password -----------------------------------------------------------------------------


def spellings(password: str) -> set[str]:
    forms = {password, password.upper(), password.lower()}
    encoded = {quote(f, safe="") for f in forms} | {quote(f) for f in forms}
    return forms | encoded | {e.lower() for e in encoded} | {e.upper() for e in encoded}


async def test_the_password_never_shows(
    filled: Path, target: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = with_password(target)  # the test server trusts 127.0.0.1: any password will do
    outputs = []
    assert await run("db", "copy", "--from", str(filled), "--to", secret) == 0
    outputs.append(capsys.readouterr())
    assert await run("db", "copy", "--from", str(filled), "--to", secret) == 1  # not empty now
    outputs.append(capsys.readouterr())
    queried = f"{target}&password={quote(PASSWORD, safe='')}"  # libpq's other place for it
    assert await run("db", "copy", "--from", str(filled), "--to", queried) == 1  # not empty
    outputs.append(capsys.readouterr())
    unreachable = with_password(moved(target, port=1))
    assert await run("db", "copy", "--from", str(filled), "--to", unreachable) == 1
    outputs.append(capsys.readouterr())
    monkeypatch.setenv("STACKPREP_DATABASE_URL", with_password(moved(target, db="no_such_db")))
    assert await run("db", "copy", "--from", str(filled)) == 1  # --to from the environment
    outputs.append(capsys.readouterr())
    text = "\n".join(o.out + o.err for o in outputs)
    assert "postgresql://" in text  # the target is named, without its password
    for form in spellings(PASSWORD):
        assert form not in text, form


async def test_a_target_without_a_password_is_named_in_full(
    filled: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run("db", "copy", "--from", str(filled), "--to", database) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"copied {filled} into {database}: ")


def test_totals_name_every_difference() -> None:
    source = Totals({"players": 3, "answers": 9}, {("global", "all"): (50, 4, 9)}, (50, 4, 9))
    same = Totals(dict(source.rows), dict(source.boards), source.players)
    assert source.differences(same) == []
    other = Totals({"players": 3, "answers": 8}, {("global", "all"): (45, 4, 8)}, (45, 4, 8))
    assert source.differences(other) == [
        "answers: 9 rows, 8 copied",
        "board global all: (50, 4, 9) against (45, 4, 8)",
        "players' totals: (50, 4, 9) against (45, 4, 8)",
    ]


# -- what the operator types ------------------------------------------------------------------


@given(st.text())
@example("x\n://y").via("a scheme across lines")
@example("sqlite:///").via("no file")
def test_any_from_is_a_path_or_one_clear_refusal(text: str) -> None:
    url = text.startswith("sqlite:///")
    if text == "sqlite:///" or (not url and "://" in text):  # no file, or another scheme
        with pytest.raises(CopyFailed, match=r"\A--from [^\n]*\Z"):
            source_path(text)
        return
    path = source_path(text)
    expected = text.removeprefix("sqlite:///") if url else text
    assert path == Path(expected)


@given(st.text(min_size=1).filter(lambda p: "\x00" not in p), st.booleans())
def test_a_password_is_found_wherever_the_url_carries_it(password: str, in_query: bool) -> None:
    encoded = quote(password, safe="")
    url = (
        f"postgresql://stackprep@db.example.com:5432/stackprep?password={encoded}"
        if in_query
        else f"postgresql://stackprep:{encoded}@db.example.com:5432/stackprep"
    )
    assert passwords_in(url) == [password]
