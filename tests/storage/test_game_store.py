"""One contract for both GameStore implementations (memory and SQLite), and the migration
that brought games to databases made before them."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.bootstrap import App, Storage, build
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import AlreadyAnswered
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.games import Game, GameSettings, GameState, Phase
from bot.core.quiz import RoundKind, ScoringRules
from bot.storage.sqlite import Database
from bot.storage.sqlite.migrations import migrations
from tests.fakes.app import make_config
from tests.fakes.clock import FixedClock

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHAT = ChatRef(Platform.DISCORD, "10", "1")


def game(game_id: str = "g1", chat: ChatRef = CHAT, **kw: object) -> Game:
    base = Game(
        id=game_id, chat=chat, starter_id=1, starter_name="Ann",
        settings=GameSettings(count=3, seconds=20, topic="alpha", difficulty=2, hints=True),
        question_ids=("alpha-one", "alpha-two", "beta-one"), created_at=T0,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


async def test_a_game_round_trips_and_one_runs_per_chat(app: App) -> None:
    store = app.games.store
    await app.store.player(UserRef(Platform.DISCORD, "1"), "Ann")
    first = await store.create_game(game())
    assert first == game()
    assert await store.get_game("g1") == first
    assert await store.running_in(CHAT.key) == first
    other = await store.create_game(game("g2"))  # same chat: the running one comes back
    assert other == first and await store.get_game("g2") is None
    elsewhere = await store.create_game(game("g3", ChatRef(Platform.DISCORD, "11", "1")))
    assert elsewhere.id == "g3"
    assert [g.id for g in await store.running_games()] == ["g1", "g3"]


async def test_a_game_moves_on_only_from_where_the_writer_saw_it(app: App) -> None:
    store = app.games.store
    await app.store.player(UserRef(Platform.DISCORD, "1"), "Ann")
    started = await store.create_game(game())
    asking = replace(started, position=0, phase=Phase.ASKING, round_ids=("r1",),
                     deadline=T0 + timedelta(seconds=20))  # fmt: skip
    assert await store.update(asking, started)
    assert not await store.update(replace(asking, message_ref="x"), started)  # stale: refused
    posted = replace(asking, message_ref="m1", hint_sent=True)
    assert await store.update(posted, asking)
    assert await store.get_game("g1") == posted
    stopped = replace(posted, state=GameState.STOPPED, ended_at=T0, ended_by="Bob")
    assert await store.update(stopped, posted)
    assert not await store.update(replace(posted, phase=Phase.REVEALED), posted)  # ended
    assert await store.running_in(CHAT.key) is None and await store.running_games() == []
    assert await store.get_game("g1") == stopped
    assert (await store.create_game(game("g4"))).id == "g4"  # the chat is free again


async def test_game_answers_are_its_rounds_answers_with_current_names(
    app: App, clock: FixedClock
) -> None:
    ann, bob = UserRef(Platform.DISCORD, "1"), UserRef(Platform.DISCORD, "2")
    question = app.bank.get("alpha-one")
    assert question is not None
    await app.store.player(ann, "Ann")
    now = clock.now()
    opened = [
        await app.quiz.open_round(question, CHAT, RoundKind.GAME, now, now + timedelta(seconds=30))
        for _ in range(3)
    ]
    started = await app.games.store.create_game(
        game(round_ids=tuple(a.round.id for a in opened[:2]))
    )
    plays = [(ann, "Ann", opened[0], "A"), (bob, "Bob", opened[0], "B"),
             (bob, "Bob", opened[1], "A"), (ann, "Ann", opened[2], "A")]  # fmt: skip
    for user, name, asked, label in plays:
        clock.advance(seconds=1)
        await app.quiz.answer_choice(user, name, asked.round.id, label, chat=CHAT)
    await app.store.player(bob, "Robert")  # renamed since
    found = await app.games.store.game_answers(started)
    right = opened[0].round.correct_label(question) == "A"
    assert [(a.name, a.round_id, a.correct) for a in found] == [
        ("Ann", opened[0].round.id, right),
        ("Robert", opened[0].round.id, opened[0].round.correct_label(question) == "B"),
        ("Robert", opened[1].round.id, opened[1].round.correct_label(question) == "A"),
    ]  # not the answer to the third round, which is not the game's
    assert [a.at for a in found] == sorted(a.at for a in found)


async def test_a_database_from_before_games_takes_game_rounds_after_migrating(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version, sql in migrations():
        if version >= 12:
            break
        conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;")
    conn.execute(
        "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, opened_at) "
        "VALUES ('old', 'q', 'discord', '10', 'ask', '0,1', 1.0)"
    )
    try:
        conn.execute(
            "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
            "opened_at) VALUES ('g', 'q', 'discord', '10', 'game', '0,1', 1.0)"
        )
        raise AssertionError("version 11 must refuse a game round")
    except sqlite3.IntegrityError:
        pass
    conn.close()
    db = Database(path)
    await db.open()
    try:
        await db.write(
            "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
            "opened_at) VALUES ('g', 'q', 'discord', '10', 'game', '0,1', 1.0)"
        )
        rows = await db.read("SELECT id, kind, hint_at FROM rounds ORDER BY id")
        assert [tuple(r) for r in rows] == [("g", "game", None), ("old", "ask", None)]
        assert (await db.read("PRAGMA integrity_check"))[0][0] == "ok"
    finally:
        await db.close()
    with sqlite3.connect(path) as again:  # a new connection reads the widened schema too
        again.execute(
            "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
            "opened_at) VALUES ('g2', 'q', 'discord', '10', 'game', '0,1', 1.0)"
        )
        try:
            again.execute(
                "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
                "opened_at) VALUES ('x', 'q', 'discord', '10', 'bogus', '0,1', 1.0)"
            )
            raise AssertionError("the CHECK must still refuse other kinds")
        except sqlite3.IntegrityError:
            pass


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
async def test_games_and_question_share_the_daily_cap(
    tmp_path: Path, clock: FixedClock, bank: QuestionBank, storage: Storage
) -> None:
    """A day's points from games and /question together stop at the daily cap (here 40),
    whichever came first: games alone cannot farm the board, nor /question after them."""
    config = make_config(tmp_path, scoring=ScoringRules(daily_cap=40))
    app = build(config, storage=storage, bank=bank, clock=clock, ask_rate=(1000, 60.0))
    user = UserRef(Platform.DISCORD, "7")
    async with app:
        now = clock.now()
        said = []
        for question in sorted(bank.questions, key=lambda q: q.id)[:4]:
            kind = RoundKind.GAME if len(said) < 3 else RoundKind.ASK
            asked = await app.quiz.open_round(
                question, CHAT, kind, now, now + timedelta(seconds=30)
            )
            right = asked.round.correct_label(question)
            reply = await app.quiz.answer_choice(user, "Dee", asked.round.id, right, chat=CHAT)
            said.append(reply.plain_text())
        player = await app.store.player(user, "Dee")
        assert (await app.store.player_stats(player)).points == 40
        assert any("today's limit for /question and games" in s for s in said[:3])
        assert "No points: you reached today's limit" in said[3]  # the /question after them
        with pytest.raises(AlreadyAnswered):  # and a game question answers once
            await app.quiz.answer_choice(user, "Dee", asked.round.id, right, chat=CHAT)
