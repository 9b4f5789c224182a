"""/quiz on Telegram end to end: the real Application and handlers, the real GameService and
GameEngine posting through the adapter's own TelegramOutbox (its SendScheduler included), a
real SQLite file and the loopback Bot API. Game time is a FixedClock moved by FakeTimers;
votes come as real poll_answer updates, presses as real callback queries."""

from __future__ import annotations

import contextlib
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.telegram.commands import COMMANDS
from bot.adapters.telegram.games import QUIZ_COMMAND
from bot.adapters.telegram.sending import Budgets
from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question
from bot.core.common.identity import Platform, UserRef
from bot.core.games import GameEngine
from bot.core.quiz.rounds import Round
from tests.fakes.app import make_app
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished, telegram_round
from tests.fakes.telegram_api import (
    GROUP_ID,
    ROOMY,
    Call,
    FakeBotApi,
    Harness,
    command,
    harness,
    poll_answer,
    press,
    until,
    with_games,
)

WINDOW = 30  # seconds per question in these games


@dataclass(frozen=True)
class Player:
    user_id: int
    name: str


ANN, BOB, CY = Player(1, "Ann"), Player(2, "Bob"), Player(3, "Cy")
DEE, EVE, FAY = Player(4, "Dee"), Player(5, "Eve"), Player(6, "Fay")
DM_ID = ANN.user_id  # a private chat's id is the user's id


@pytest.fixture
def seed() -> int:
    return 11


@pytest.fixture
def timers(clock: FixedClock) -> FakeTimers:
    return FakeTimers(clock)


def telegram(
    app: App, timers: FakeTimers, api: FakeBotApi | None = None, budgets: Budgets = ROOMY
) -> contextlib.AbstractAsyncContextManager[tuple[Harness, GameEngine]]:
    """The adapter with games over the loopback Bot API, and an engine (not started) that
    posts through the adapter's own outbox."""
    return with_games(app, timers.sleep, api=api, budgets=budgets)


# -- what went out ---------------------------------------------------------------------------


def is_question(call: Call) -> bool:
    """A game question: a quiz poll, or a message with answer buttons (a1.<round>.<label>)."""
    if call.method == "sendPoll":
        return True
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return call.method == "sendMessage" and any(
        str(b.get("callback_data", "")).startswith("a1.") for row in rows for b in row
    )


def texts_to(api: FakeBotApi, chat_id: int) -> list[str]:
    return [
        html.unescape(str(c.params["text"]))
        for c in api.calls
        if c.method == "sendMessage" and c.params["chat_id"] == chat_id and not is_question(c)
    ]


@dataclass
class Posted:
    """One question of the game as it went out, and its round."""

    call: Call
    rnd: Round
    question: Question
    poll_id: str | None  # None: a message with buttons

    @property
    def right_label(self) -> str:
        return self.rnd.correct_label(self.question)

    def label(self, right: bool) -> str:
        labels = "ABCD"[: len(self.rnd.order)]
        return self.right_label if right else next(x for x in labels if x != self.right_label)

    def at(self, seconds: float) -> datetime:
        return self.rnd.opened_at + timedelta(seconds=seconds)


async def latest_question(tg: Harness, app: App) -> Posted:
    call = [c for c in tg.api.calls if is_question(c)][-1]
    rnd, poll_id = await telegram_round(app, tg.api, call)
    question = app.bank.get(rnd.question_id)
    assert question is not None
    return Posted(call, rnd, question, poll_id)


async def answer(
    tg: Harness, q: Posted, who: Player, *, right: bool, chat_id: int = GROUP_ID
) -> list[Call]:
    """`who` votes in the poll or presses a button; returns the calls it caused."""
    before = len(tg.api.calls)
    label = q.label(right)
    if q.poll_id is not None:
        option = "ABCD".index(label)
        assert (option == q.call.params["correct_option_ids"][0]) is right
        await tg.send(poll_answer(q.poll_id, option, user_id=who.user_id, first_name=who.name))
    else:
        token = f"a1.{q.rnd.id}.{label}"
        await tg.send(press(token, chat_id=chat_id, user_id=who.user_id, first_name=who.name))
    return tg.api.calls[before:]


async def advance_to(timers: FakeTimers, clock: FixedClock, when: datetime) -> None:
    await timers.advance((when - clock.now()).total_seconds())


# -- the rule, as README's "How scoring works" states it --------------------------------------


def base(q: Posted) -> int:
    return (10, 20, 30)[q.question.difficulty - 1]  # junior / mid / senior


def points(q: Posted, seconds: float) -> int:
    """Base plus up to +50% for speed: all of it in the first fifth of the question's time,
    then less, down to nothing at the close."""
    share = seconds / WINDOW
    left = 1.0 if share <= 0.2 else (1 - share) / 0.8
    return base(q) + round(base(q) * 0.5 * left)


@dataclass
class Tally:
    """A player's expected game standing, kept by the test as answers go in."""

    player: Player
    joined: int  # order of first contact (the player ids' order)
    points: int = 0
    right: int = 0
    seconds: float = 0.0
    marks: list[str] = field(default_factory=list)


class Expected:
    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}

    def join(self, *players: Player) -> None:
        for p in players:
            self.tallies.setdefault(p.name, Tally(p, len(self.tallies)))

    def question(self) -> None:
        for t in self.tallies.values():
            t.marks.append("·")

    def answered(self, q: Posted, who: Player, seconds: float, *, right: bool) -> None:
        self.join(who)
        tally = self.tallies[who.name]
        while len(tally.marks) < len(next(iter(self.tallies.values())).marks):
            tally.marks.insert(0, "·")
        tally.marks[-1] = "✅" if right else "❌"
        if right:
            tally.points += points(q, seconds)
            tally.right += 1
            tally.seconds += seconds

    def ranked(self) -> list[Tally]:
        answered = [t for t in self.tallies.values() if set(t.marks) - {"·"}]
        return sorted(answered, key=lambda t: (-t.points, -t.right, t.seconds, t.joined))

    def ranks(self, rows: int) -> list[tuple[int, Tally]]:
        """The first `rows`, best first; equal points and right answers share a rank."""
        out: list[tuple[int, Tally]] = []
        rank, previous = 0, None
        for position, t in enumerate(self.ranked()[:rows], 1):
            if (t.points, t.right) != previous:
                rank, previous = position, (t.points, t.right)
            out.append((rank, t))
        return out

    def table(self, rows: int) -> str:
        """The standings after a question."""
        return "\n".join(
            f"{rank}. {t.player.name} — {t.points} pts ({t.right} right)"
            for rank, t in self.ranks(rows)
        )

    def final_table(self, played: int) -> str:
        """The final standings: one line per player, with a mark per question played."""
        return "\n".join(
            f"{rank}. {t.player.name} — {t.points} pts, {t.right} of {played} right "
            f"{''.join(t.marks)}"
            for rank, t in self.ranks(20)
        )


def assert_closed_by_the_stop(
    api: FakeBotApi, q: Posted, ref: str | None, number: int, right_by: str
) -> None:
    """A stop closed the open question `q` (number `number` of 3, its post: `ref`, answered
    once, rightly, by `right_by`) with one call: a poll is stopped
    (Telegram shows its answer; nothing else is posted about it), a message with buttons is
    edited once into the question's reveal above the question, its answer buttons replaced by
    Report."""
    closes = [c for c in api.calls if c.method in {"stopPoll", "editMessageText"}]
    chat_id = q.call.params["chat_id"]
    assert not [t for t in texts_to(api, chat_id) if "⏱ Time!" in t]  # no reveal post
    if q.poll_id is not None:
        [stop] = closes
        assert stop.method == "stopPoll" and ref == f"poll:{stop.params['message_id']}"
        return
    [edit] = closes
    assert edit.method == "editMessageText" and edit.params["chat_id"] == chat_id
    assert ref == f"msg:{edit.params['message_id']}"
    buttons = edit.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in buttons for b in row] == ["Report"]
    text = html.unescape(edit.params["text"])
    right_text = q.question.choices[q.question.correct_index].text
    assert text.startswith(
        f"<b>⏱ Time! Question {number}/3: the answer is {q.right_label}) {right_text}</b>"
    )
    assert "1 answered, 1 right." in text and f"Fastest right: {right_by} (" in text
    assert "Next question" not in text  # the game is over
    body = html.unescape(q.call.params["text"]).split("\n\n", 2)[2]
    assert text.endswith(f"\n\n<b>The question was:</b>\n\n{body}")


def logged_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING or "could not close" in r.getMessage()
    ]


# -- a whole game ----------------------------------------------------------------------------


async def test_a_five_question_game_with_three_players_plays_through_to_an_exact_winner(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers, caplog: pytest.LogCaptureFixture
) -> None:
    app = sqlite_app
    caplog.set_level(logging.INFO, logger="bot")
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 5 30s", user_id=ANN.user_id, first_name=ANN.name))
        [announcement] = texts_to(tg.api, GROUP_ID)
        assert "Ann started a game" in announcement
        assert "5 mixed questions, 30 s each" in announcement
        announced = next(c for c in tg.api.calls if c.method == "sendMessage")
        assert "reply_parameters" not in announced.params  # public, not a quoted reply
        await timers.settle(1)
        expected = Expected()
        expected.join(ANN)

        # (seconds after the question opened, player, right?) per question; Dee, Eve and Fay
        # join in question 4 only, so the top 5 after it leaves one of six out
        plays: list[list[tuple[float, Player, bool]]] = [
            [(2, ANN, True), (5, CY, False), (21, BOB, True)],
            [(1, BOB, True), (3, ANN, False), (13, CY, True)],
            [(4, CY, True), (7, ANN, True)],
            [(5, BOB, True), (7, CY, False), (8, DEE, False), (9, EVE, False), (10, FAY, False)],
            [(2, BOB, False), (8, CY, True), (27, ANN, True)],
        ]
        kinds = []
        for number, answers in enumerate(plays, 1):
            await timers.advance(3 if number == 1 else 5)  # the start delay or the pause
            q = await latest_question(tg, app)
            assert len([c for c in tg.api.calls if is_question(c)]) == number
            kinds.append("poll" if q.poll_id else "buttons")
            if q.poll_id:  # a native quiz poll that closes by itself at the question's end
                # it closes by itself its time after Telegram has it (the round's time starts
                # when the post is out): no stopPoll
                assert q.call.params["open_period"] == WINDOW
                assert "close_date" not in q.call.params
                assert q.call.params["question"].startswith(f"[{number}/5] ")
                assert q.call.params["is_anonymous"] is False and q.call.params["type"] == "quiz"
            else:
                text = html.unescape(q.call.params["text"])
                header, countdown, body = text.split("\n\n", 2)
                assert header.startswith(f"<b>Question {number}/5 · ")
                # the deadline right under the header, and nowhere else
                assert countdown == f"⏱ Closes at {q.at(WINDOW):%H:%M:%S} UTC"
                assert "⏱" not in body
            expected.question()
            for seconds, who, right in answers:
                await advance_to(timers, clock, q.at(seconds))
                calls = await answer(tg, q, who, right=right)
                expected.answered(q, who, seconds, right=right)
                if q.poll_id:  # Telegram shows right or wrong in the poll: nothing is sent
                    assert calls == [], calls
                else:  # a private alert with the result and the points
                    [alert] = calls
                    assert alert.method == "answerCallbackQuery" and alert.params["show_alert"]
                    verdict = "✅ Right!" if right else "❌ Not quite"
                    assert alert.params["text"].startswith(verdict)
                    got = f"+{points(q, seconds)} points" if right else "No points this time."
                    assert got in alert.params["text"]
            # twice: the first to answer answers again, the other way; refused, the first
            # answer stands (a poll allows one vote: a repeated update changes nothing)
            first, again = answers[0][1], not answers[0][2]
            await advance_to(timers, clock, q.at(25))
            calls = await answer(tg, q, first, right=again)
            if q.poll_id is None:
                [alert] = calls
                assert alert.params["text"] == (
                    f"You have already answered this one. The answer is {q.right_label}."
                )
            else:
                assert calls == []
            before = len(tg.api.calls)
            await advance_to(timers, clock, q.at(WINDOW))  # the deadline: one close, a reveal
            closing = tg.api.calls[before:]
            # a poll closed itself: the reveal is posted; a message with buttons is edited
            # once, its buttons replaced by Report and the reveal put on top of the question
            assert [c.method for c in closing] == [
                "sendMessage" if q.poll_id else "editMessageText"
            ]
            if q.poll_id is None:
                buttons = closing[0].params["reply_markup"]["inline_keyboard"]
                assert [b["text"] for row in buttons for b in row] == ["Report"]
                assert "<b>The question was:</b>" in closing[0].params["text"]
            reveal = html.unescape(closing[0].params["text"])
            right_text = q.question.choices[q.question.correct_index].text
            assert f"Question {number}/5: the answer is {q.right_label}) {right_text}" in reveal
            tally_right = [(s, p) for s, p, r in answers if r]
            assert f"{len(answers)} answered, {len(tally_right)} right." in reveal
            fastest = ", ".join(f"{p.name} ({s:.1f} s)" for s, p in sorted(tally_right)[:3])
            assert f"Fastest right: {fastest}" in reveal
            standings = reveal.split("<b>Standings</b>\n\n")[1].split("\n\n")[0]
            assert standings == expected.table(5)  # the top 5 so far
            # late: a right answer a second after the deadline counts for nothing
            await advance_to(timers, clock, q.at(WINDOW + 1))
            calls = await answer(tg, q, CY, right=True)
            if q.poll_id is None:
                [alert] = calls
                assert alert.params["text"] == "This round is closed."
            else:
                assert calls == []
        assert sorted(kinds) == ["buttons", "poll", "poll", "poll", "poll"]  # code: buttons
        assert "Fay" not in standings and len(expected.ranked()) == 6  # the top 5 of 6

        await timers.advance(5, sleepers=0)  # the pause after the last reveal, then the end
        await finished(engine)
        final = texts_to(tg.api, GROUP_ID)[-1]
    ranked = expected.ranked()
    winner = ranked[0]
    assert winner.points > ranked[1].points  # this game has one winner
    assert all(t.right == t.marks.count("✅") for t in ranked)
    assert final == "\n\n".join(
        [
            "<b>🏁 Game over: 5 questions</b>",
            f"<b>🏆 Winner: {winner.player.name} with {winner.points} points!</b>",
            expected.final_table(5),  # all six, sharing rank 4 at no points
        ]
    )
    assert await app.games.store.running_in(f"telegram:{GROUP_ID}") is None
    assert logged_failures(caplog) == []
    # the boards: each right answer once, in full (no cap reached in one game)
    for t in ranked:
        player = await app.store.player(UserRef(Platform.TELEGRAM, str(t.player.user_id)), "x")
        stats = await app.store.player_stats(player)
        assert (stats.points, stats.correct) == (t.points, t.right), t.player


# -- control: a second /quiz, status, stop -----------------------------------------------------


async def test_a_second_quiz_is_told_where_the_game_is_and_only_the_starter_or_an_admin_stops_it(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 3 20s", user_id=ANN.user_id, first_name=ANN.name))
        await timers.settle(1)
        await timers.advance(3)
        q = await latest_question(tg, app)
        await timers.advance(5)
        tg.api.clear()

        await tg.send(command("/quiz 5 beta", user_id=BOB.user_id, first_name=BOB.name,
                              message_id=21))  # fmt: skip
        [told] = tg.api.sent()
        assert told.params["reply_parameters"]["message_id"] == 21  # quoting, as for errors
        assert told.params["text"] == (
            "A game is already running in this chat (question 1 of 3, 15 s left, started by "
            "Ann). Play along, or wait for it to end; the starter or an admin can end it with "
            "/quiz stop."
        )
        tg.api.clear()
        await tg.send(command("/quiz@stackprep_bot status", user_id=CY.user_id, message_id=22))
        [status] = tg.api.sent()
        assert status.params["reply_parameters"]["message_id"] == 22
        assert "Game in progress: question 1 of 3, 15 s left" in status.params["text"]

        tg.api.clear()  # a member who did not start it: refused after asking Telegram
        await tg.send(command("/quiz stop", user_id=BOB.user_id, first_name=BOB.name,
                              message_id=23))  # fmt: skip
        assert [c.method for c in tg.api.calls] == ["getChatMember", "sendMessage"]
        assert tg.api.calls[0].params == {"chat_id": GROUP_ID, "user_id": BOB.user_id}
        refused = tg.api.calls[1].params
        assert refused["text"] == "Only Ann, who started this game, or an admin can stop it."
        assert refused["reply_parameters"]["message_id"] == 23
        assert await app.games.store.running_in(f"telegram:{GROUP_ID}") is not None

        tg.api.clear()  # a group admin: the final standings, in public; the question closes
        tg.api.member_status = "administrator"
        await answer(tg, q, ANN, right=True)
        (game,) = await app.games.store.running_games()
        await tg.send(command("/quiz stop", user_id=CY.user_id, first_name=CY.name))
        await finished(engine)  # the game's task closes its open question, once
        stopped = texts_to(tg.api, GROUP_ID)[-1]
        assert stopped.startswith("<b>🛑 Game stopped by Cy after 1 of 3 questions</b>")
        assert "🏆 Winner: Ann with" in stopped
        stop_call = next(c for c in tg.api.calls if c.params.get("text", "").startswith("<b>🛑"))
        assert "reply_parameters" not in stop_call.params
        assert_closed_by_the_stop(tg.api, q, game.message_ref, 1, "Ann")
        assert await app.games.store.running_in(f"telegram:{GROUP_ID}") is None

        tg.api.clear()  # nothing to stop now
        await tg.send(command("/quiz stop", user_id=CY.user_id, first_name=CY.name))
        assert tg.api.sent()[0].params["text"].startswith("No game is running here.")


async def test_a_game_of_one_in_a_private_chat_is_stopped_by_its_starter_without_asking_telegram(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 3 10s", chat_id=DM_ID, user_id=ANN.user_id, first_name="Ann"))
        assert "Ann started a game" in texts_to(tg.api, DM_ID)[0]
        await timers.settle(1)
        await timers.advance(3)
        q = await latest_question(tg, app)
        assert q.call.params["chat_id"] == DM_ID and q.rnd.chat.is_private
        calls = await answer(tg, q, ANN, right=True, chat_id=DM_ID)
        if q.poll_id is None:  # in a DM the whole answer follows the toast, without "Next"
            assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
            assert "Next question" not in str(calls[1].params.get("reply_markup"))
        else:
            assert calls == []
        (game,) = await app.games.store.running_games()
        tg.api.clear()
        await tg.send(command("/quiz stop", chat_id=DM_ID, user_id=ANN.user_id, first_name="Ann"))
        await finished(engine)  # the game's task closes its open question, once
        assert "getChatMember" not in [c.method for c in tg.api.calls]
        final = texts_to(tg.api, DM_ID)[-1]
        assert final.startswith("<b>🛑 Game stopped by Ann after 1 of 3 questions</b>")
        assert "A game of one: its points count under the usual limits." in final
        assert_closed_by_the_stop(tg.api, q, game.message_ref, 1, "Ann")


async def test_a_stop_edits_an_open_question_with_buttons_once_into_its_reveal(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        # the topic's three questions, its one code question (sent with buttons) among them
        await tg.send(command("/quiz 3 alpha 20s", user_id=ANN.user_id, first_name=ANN.name))
        await timers.settle(1)
        await timers.advance(3)
        q, number = await latest_question(tg, app), 1
        while q.poll_id is not None:  # play polls out until the question with buttons
            await advance_to(timers, clock, q.at(20))
            await timers.advance(5)
            q, number = await latest_question(tg, app), number + 1
        assert number <= 3 and q.call.method == "sendMessage"
        await advance_to(timers, clock, q.at(3))
        await answer(tg, q, BOB, right=True)
        (game,) = await app.games.store.running_games()
        tg.api.clear()
        await tg.send(command("/quiz stop", user_id=ANN.user_id, first_name=ANN.name))
        await finished(engine)  # the game's task closes its open question, once
        stopped = texts_to(tg.api, GROUP_ID)[-1]
        assert stopped.startswith(f"<b>🛑 Game stopped by Ann after {number} of 3 questions</b>")
        assert_closed_by_the_stop(tg.api, q, game.message_ref, number, "Bob")
        # a press from a client that still shows the buttons
        [alert] = await answer(tg, q, CY, right=True)
        assert alert.params["text"] == "This round is closed."


async def test_a_hint_strikes_out_a_wrong_option_by_its_letter_and_its_own_text(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    """A poll's options carry no letters: the hint names the option by its text too, the
    one the poll (or the message) shows under that letter."""
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 3 alpha 20s hints", user_id=ANN.user_id, first_name="Ann"))
        await timers.settle(1)
        kinds = set()
        for number in (1, 2, 3):  # the topic's three questions: polls and one with buttons
            await timers.advance(3 if number == 1 else 5)
            q = await latest_question(tg, app)
            kinds.add(q.call.method)
            await advance_to(timers, clock, q.at(9))
            assert not [t for t in texts_to(tg.api, GROUP_ID) if t.startswith("💡")]
            before = len(tg.api.calls)
            await advance_to(timers, clock, q.at(10))  # halfway: the hint, and nothing else
            [hint] = [c for c in tg.api.calls[before:] if c.method != "answerCallbackQuery"]
            assert hint.method == "sendMessage" and "reply_markup" not in hint.params
            said = re.fullmatch(
                rf"💡 Hint for question {number}: it is not ([A-D])\) (.+)\. "
                r"Answers from now on earn half\.",
                html.unescape(hint.params["text"]),
            )
            assert said is not None, hint.params["text"]
            label, text = said.groups()
            assert label != q.right_label
            if q.poll_id is not None:
                options = q.call.params["options"]
                shown = options["ABCD".index(label)]
                assert (shown["text"] if isinstance(shown, dict) else shown) == text
            else:
                assert f"\n{label}) {text}\n" in html.unescape(q.call.params["text"]) + "\n"
            await advance_to(timers, clock, q.at(20))
            tg.api.clear()
        assert kinds == {"sendPoll", "sendMessage"}


async def test_a_question_whose_posts_failed_until_its_time_ran_out_is_asked_afresh(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    """Nobody saw it: instead of revealing it, the question is asked again with its full
    time, in a new round."""
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 3 10s", user_id=ANN.user_id, first_name=ANN.name))
        await timers.settle(1)
        tg.api.fail_chat(GROUP_ID, 502, "Bad Gateway", times=3)
        await timers.advance(3)  # the start delay: question 1 opens; its post fails
        (game,) = await app.games.store.running_games()
        first = game.round_id
        assert first is not None and game.message_ref is None
        await timers.advance(2)  # tried again after 2 s: fails
        await timers.advance(5)  # and after 5 s more: fails; its 10 s are over
        (game,) = await app.games.store.running_games()
        assert (game.position, game.round_id, game.message_ref) == (0, first, None)
        await timers.advance(15)  # the next try: asked afresh
        attempts = [c for c in tg.api.calls if is_question(c)]
        assert len(attempts) == 4
        q = await latest_question(tg, app)
        (game,) = await app.games.store.running_games()
        assert game.position == 0 and game.round_ids == (q.rnd.id,) and q.rnd.id != first
        assert game.message_ref is not None
        assert (q.rnd.opened_at, q.rnd.closes_at) == (clock.now(), q.at(10))
        assert game.deadline == q.at(10)
        if q.poll_id is not None:  # the poll closes by itself after the new round's time
            assert q.call.params["open_period"] == 10
        else:
            assert f"⏱ Closes at {q.at(10):%H:%M:%S} UTC" in html.unescape(q.call.params["text"])
        assert not [t for t in texts_to(tg.api, GROUP_ID) if "⏱ Time!" in t]  # no reveal
        await answer(tg, q, BOB, right=True)  # at once: the full points
        await advance_to(timers, clock, q.at(10))
        reveal = next(
            html.unescape(str(c.params["text"]))
            for c in tg.api.calls
            if c.method in {"sendMessage", "editMessageText"} and "⏱ Time!" in str(c.params)
        )
        assert reveal.startswith("<b>⏱ Time! Question 1/3: the answer is")
        assert "1 answered, 1 right." in reveal
        assert f"1. Bob — {points(q, 0)} pts (1 right)" in reveal


async def test_settings_the_parser_refuses_are_told_quoting_the_command(
    sqlite_app: App, timers: FakeTimers
) -> None:
    async with telegram(sqlite_app, timers) as (tg, _):
        for text, said in (
            ("/quiz 50", "A game has 3 to 20 questions; you asked for 50."),
            ("/quiz 5 5s", "Each question runs 10 to 120 seconds; you asked for 5."),
            ("/quiz 5 pizza", "I don't know the topic"),
        ):
            tg.api.clear()
            await tg.send(command(text, message_id=31))
            [call] = tg.api.sent()
            assert said in call.params["text"], text
            assert call.params["reply_parameters"]["message_id"] == 31
        assert await sqlite_app.games.store.running_games() == []


async def test_quiz_is_in_everyones_command_menu(sqlite_app: App, timers: FakeTimers) -> None:
    async with telegram(sqlite_app, timers) as (tg, _):
        await tg.adapter.publish_commands()
        default, admins = tg.api.sent("setMyCommands")
        entry = {
            "command": "quiz",
            "description": "Group quiz game: /quiz [count] [topic] [level] [seconds] [hints], "
            "stop, status",
        }
        assert entry in default.params["commands"] and entry in admins.params["commands"]


# -- a restart in the middle of a question ------------------------------------------------------


async def test_a_restart_during_question_3_resumes_it_with_its_time_left_and_scores_nothing_twice(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers, seed: int
) -> None:
    api = FakeBotApi()  # Telegram's side outlives the bot's process
    expected = Expected()
    expected.join(ANN)
    first = make_app(tmp_path, bank=bank, clock=clock, seed=seed)
    async with first, telegram(first, timers, api) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 5 30s", user_id=ANN.user_id, first_name=ANN.name))
        await timers.settle(1)
        for number, who, seconds in ((1, ANN, 2), (2, BOB, 3)):
            await timers.advance(3 if number == 1 else 5)
            q = await latest_question(tg, first)
            expected.question()
            await advance_to(timers, clock, q.at(seconds))
            await answer(tg, q, who, right=True)
            expected.answered(q, who, seconds, right=True)
            await advance_to(timers, clock, q.at(WINDOW))
        await timers.advance(5)
        q3 = await latest_question(tg, first)
        assert len([c for c in api.calls if is_question(c)]) == 3
        expected.question()
        await advance_to(timers, clock, q3.at(4))
        await answer(tg, q3, ANN, right=True)
        expected.answered(q3, ANN, 4, right=True)
        await advance_to(timers, clock, q3.at(10))
    # the process ends 10 s into question 3 and is back 5 s later: a new app on the same
    # SQLite file, a new adapter and engine
    clock.advance(seconds=5)
    api.clear()
    second = make_app(tmp_path, bank=bank, clock=clock, seed=seed)
    async with second, telegram(second, timers, api) as (tg, engine):
        assert await engine.start() == 1
        await timers.settle(1)
        assert not [c for c in api.calls if is_question(c)]  # question 3 is not posted again
        calls = await answer(tg, q3, ANN, right=True)  # Ann's answer again, after the restart
        if q3.poll_id is None:
            assert calls[0].params["text"].startswith("You have already answered this one.")
        await advance_to(timers, clock, q3.at(20))
        await answer(tg, q3, BOB, right=True)  # the new process scores the open question
        expected.answered(q3, BOB, 20, right=True)
        await advance_to(timers, clock, q3.at(WINDOW - 1))
        assert [c.method for c in api.calls if c.method != "answerCallbackQuery"] == []
        before = len(api.calls)
        await advance_to(timers, clock, q3.at(WINDOW))  # its own deadline, not 30 s from now
        closing = api.calls[before:]
        assert [c.method for c in closing] == ["sendMessage" if q3.poll_id else "editMessageText"]
        reveal = html.unescape(closing[0].params["text"])
        assert "Question 3/5: the answer is" in reveal and "2 answered, 2 right." in reveal
        assert reveal.split("<b>Standings</b>\n\n")[1].split("\n\n")[0] == expected.table(5)
        for _ in (4, 5):  # nobody answers the last two
            await timers.advance(5)
            q = await latest_question(tg, second)
            expected.question()
            await advance_to(timers, clock, q.at(WINDOW))
        await timers.advance(5, sleepers=0)
        await finished(engine)
        final = texts_to(api, GROUP_ID)[-1]
    ranked = expected.ranked()
    assert {t.player.name for t in ranked} == {"Ann", "Bob"}
    assert ranked[0].points > ranked[1].points  # one winner
    assert {t.player.name: "".join(t.marks) for t in ranked} == {"Ann": "✅·✅··", "Bob": "·✅✅··"}
    assert final == "\n\n".join(
        [
            "<b>🏁 Game over: 5 questions</b>",
            f"<b>🏆 Winner: {ranked[0].player.name} with {ranked[0].points} points!</b>",
            expected.final_table(5),
        ]
    )
    async with make_app(tmp_path, bank=bank, clock=clock, seed=seed) as third:
        for t in ranked:  # on the boards too: each right answer once
            user = UserRef(Platform.TELEGRAM, str(t.player.user_id))
            stats = await third.store.player_stats(await third.store.player(user, t.player.name))
            assert (stats.points, stats.correct, stats.answered) == (t.points, 2, 2)


# -- sending: a game waits for its own group's budget, never other chats -------------------------


async def test_a_games_posts_wait_for_its_groups_budget_while_other_chats_are_answered(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    # two messages at once in a group, then one a second: the announcement and question 1 use
    # the burst, so the close at the deadline waits for the group's budget
    tight = Budgets(group_count=3, group_burst=2, group_period=1.0)
    other_group = GROUP_ID - 1
    async with telegram(sqlite_app, timers, budgets=tight) as (tg, engine):
        await engine.start()
        await tg.send(command("/quiz 3 10s", user_id=ANN.user_id, first_name=ANN.name))
        await timers.settle(1)
        await timers.advance(3)
        await latest_question(tg, sqlite_app)  # question 1 is out

        def closes(call: Call) -> bool:  # a poll's reveal post, or the one edit of a message
            text = html.unescape(str(call.params.get("text", "")))
            return call.method == "editMessageText" or (
                call.method == "sendMessage" and "⏱ Time! Question 1/3" in text
            )

        await timers.advance(10, sleepers=0)  # the deadline: the engine closes the question
        await tg.send(command("/topics", chat_id=DM_ID, user_id=DM_ID))
        await tg.send(command("/topics", chat_id=other_group))
        await until(lambda: any(closes(c) for c in tg.api.calls), tg.api.activity)
        order = [
            c.params["chat_id"]
            for c in tg.api.calls
            if closes(c) or (c.method == "sendMessage" and c.params["chat_id"] != GROUP_ID)
        ]
        # the other chats were answered while the game's close waited for its group's budget
        assert order[-3:] == [DM_ID, other_group, GROUP_ID]
        assert tg.adapter.sending.throttled == 0


async def test_without_games_quiz_says_they_are_not_available(sqlite_app: App) -> None:
    async with harness(sqlite_app.quiz, (*COMMANDS, QUIZ_COMMAND)) as tg:  # no GameService
        await tg.send(command("/quiz 5", message_id=41))
        [call] = tg.api.sent()
        assert call.params["text"] == "Group quiz games are not available in this run of the bot."
        assert call.params["reply_parameters"]["message_id"] == 41
