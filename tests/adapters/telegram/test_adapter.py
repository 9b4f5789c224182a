"""The Telegram adapter end to end: real Application and handlers, real Update payloads, a real
SQLite file, and a loopback Bot API that records every outgoing request."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.adapters.telegram.commands import COMMANDS, CommandSpec, Incoming
from bot.app.bootstrap import App
from bot.core.common.identity import Platform, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.quiz.rounds import Round
from bot.core.quiz.service import QuizService
from bot.storage.sqlite import SqliteQuizStore
from tests.fakes.clock import FixedClock
from tests.fakes.telegram_api import (
    GROUP_ID,
    TOKEN,
    Call,
    Harness,
    command,
    harness,
    poll_answer,
    press,
)

DM_ID = 4242  # a private chat's id is the user's id


@pytest.fixture
def seed() -> int:
    return 5


@pytest.fixture
def quiz(sqlite_app: App) -> QuizService:
    return sqlite_app.quiz


@pytest.fixture
async def tg(quiz: QuizService) -> AsyncIterator[Harness]:
    async with harness(quiz) as h:
        yield h


def only(calls: list[Call]) -> Call:
    assert len(calls) == 1, calls
    return calls[0]


async def round_of_keyboard(tg: Harness, call: Call) -> Round:
    """The stored round behind a keyboard message (its buttons carry a1.<round>.<label>)."""
    token = call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    rnd = await tg.service.get_round(token.split(".")[1])
    assert rnd is not None
    return rnd


async def round_of_poll(tg: Harness, store: SqliteQuizStore, poll_id: str) -> Round:
    round_id = await store.linked_round("telegram", poll_id)
    assert round_id is not None
    rnd = await tg.service.get_round(round_id)
    assert rnd is not None
    return rnd


def right_token(tg: Harness, rnd: Round) -> str:
    question = tg.service.bank.get(rnd.question_id)
    assert question is not None
    return f"a1.{rnd.id}.{rnd.correct_label(question)}"


def wrong_token(tg: Harness, rnd: Round) -> str:
    question = tg.service.bank.get(rnd.question_id)
    assert question is not None
    right = rnd.correct_label(question)
    return f"a1.{rnd.id}.{'A' if right != 'A' else 'B'}"


def expected_keyboard(rnd: Round, actions: list[dict[str, str]] | None = None) -> dict[str, Any]:
    labels = "ABCD"[: len(rnd.order)]
    rows = [[{"text": x, "callback_data": f"a1.{rnd.id}.{x}"} for x in labels]]
    return {"inline_keyboard": rows + ([actions] if actions else [])}


async def points(store: SqliteQuizStore, user_id: int, name: str = "Ada") -> tuple[int, int, int]:
    player = await store.player(UserRef(Platform.TELEGRAM, str(user_id)), name)
    stats = await store.player_stats(player)
    return stats.points, stats.answered, stats.correct


# -- asking: the exact payloads --------------------------------------------------------------


@pytest.mark.parametrize("chat_id", [GROUP_ID, DM_ID], ids=["group", "dm"])
async def test_code_question_goes_as_html_with_a_lettered_keyboard(
    tg: Harness, chat_id: int
) -> None:
    await tg.send(command("/question alpha mid", chat_id=chat_id, user_id=DM_ID))
    call = only(tg.api.sent())
    rnd = await round_of_keyboard(tg, call)
    question = tg.service.bank.get("alpha-two")
    assert question is not None and rnd.question_id == "alpha-two"
    options = "\n".join(
        f"{label}) {html.escape(question.choices[i].text)}"
        for label, i in zip("ABCD", rnd.order, strict=False)
    )
    assert call.method == "sendMessage"
    assert call.params == {
        "chat_id": chat_id,
        "text": "Alpha topic · mid\n\n<b>What does this print?</b>\n\n"
        '<pre><code class="language-python">xs = [1, 2]\nys = xs\nys.append(3)\nprint(xs)'
        f"</code></pre>\n\n{options}",
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "reply_markup": expected_keyboard(rnd),
    }
    assert rnd.chat.chat_id == str(chat_id)
    assert rnd.chat.is_private is (chat_id == DM_ID)


@pytest.mark.parametrize("chat_id", [GROUP_ID, DM_ID], ids=["group", "dm"])
async def test_short_question_goes_as_a_native_quiz_poll_linked_to_its_round(
    tg: Harness, sqlite_store: SqliteQuizStore, chat_id: int
) -> None:
    await tg.send(command("/question beta junior", chat_id=chat_id, user_id=DM_ID))
    call = only(tg.api.sent())
    assert call.method == "sendPoll"
    rnd = await round_of_poll(tg, sqlite_store, f"poll-{_last_poll_number(tg)}")
    question = tg.service.bank.get("beta-one")
    assert question is not None and rnd.question_id == "beta-one"
    assert call.params == {
        "chat_id": chat_id,
        "question": "Which HTTP method is defined as safe?",
        "options": [{"text": question.choices[i].text} for i in rnd.order],
        "is_anonymous": False,
        "type": "quiz",
        "correct_option_ids": [rnd.order.index(question.correct_index)],
        "explanation": "GET only retrieves a representation; RFC 9110 defines it as safe.",
    }


def _last_poll_number(tg: Harness) -> int:
    # the fake gives each sent message/poll ids from one counter: poll id, then message id
    polls = [key for key in tg.api._polls]
    return int(polls[-1].removeprefix("poll-"))


async def test_question_in_a_forum_topic_stays_in_that_topic(tg: Harness) -> None:
    await tg.send(command("/question beta junior", message_thread_id=55, is_topic_message=True))
    assert only(tg.api.sent()).params["message_thread_id"] == 55


async def test_command_addressed_to_this_bot_by_name_works_and_others_are_ignored(
    tg: Harness,
) -> None:
    await tg.send(command("/question@stackprep_bot beta junior"))
    assert only(tg.api.sent()).method == "sendPoll"
    tg.api.clear()
    await tg.send(command("/question@some_other_bot beta junior"))
    assert tg.api.sent() == []


# -- answering with buttons ------------------------------------------------------------------


async def test_button_press_in_a_group_scores_once_and_answers_in_a_private_alert(
    tg: Harness, sqlite_store: SqliteQuizStore
) -> None:
    await tg.send(command("/question alpha mid"))
    rnd = await round_of_keyboard(tg, only(tg.api.sent()))
    tg.api.clear()

    await tg.send(press(right_token(tg, rnd)))
    alert = only(tg.api.sent())
    assert alert.method == "answerCallbackQuery"
    assert alert.params["show_alert"] is True
    text = alert.params["text"]
    assert text.startswith("✅ Right! Answer: ") and "+20 points" in text
    assert len(text) <= 200
    assert await points(sqlite_store, 1) == (20, 1, 1)

    tg.api.clear()
    await tg.send(press(right_token(tg, rnd)))  # the same person again, even the same button
    again = only(tg.api.sent())
    assert again.method == "answerCallbackQuery" and again.params["show_alert"] is True
    label = rnd.correct_label(tg.service.bank.get("alpha-two"))  # type: ignore[arg-type]
    assert again.params["text"] == (f"You have already answered this one. The answer is {label}.")
    assert await points(sqlite_store, 1) == (20, 1, 1)  # scored once and only once


async def test_wrong_press_scores_nothing_and_says_why(
    tg: Harness, sqlite_store: SqliteQuizStore
) -> None:
    await tg.send(command("/question alpha mid"))
    rnd = await round_of_keyboard(tg, only(tg.api.sent()))
    tg.api.clear()
    await tg.send(press(wrong_token(tg, rnd), user_id=2, first_name="Bo"))
    text = only(tg.api.sent()).params["text"]
    assert text.startswith("❌ Not quite: you chose") and "No points this time." in text
    assert await points(sqlite_store, 2, "Bo") == (0, 1, 0)


async def test_button_press_in_a_dm_follows_up_with_the_answer_and_a_next_button(
    tg: Harness, sqlite_store: SqliteQuizStore
) -> None:
    await tg.send(command("/question alpha mid", chat_id=DM_ID, user_id=DM_ID))
    rnd = await round_of_keyboard(tg, only(tg.api.sent()))
    tg.api.clear()
    await tg.send(press(right_token(tg, rnd), chat_id=DM_ID, user_id=DM_ID))
    toast, follow_up = tg.api.sent()
    assert toast.method == "answerCallbackQuery" and toast.params.get("show_alert") is False
    assert follow_up.method == "sendMessage" and follow_up.params["chat_id"] == DM_ID
    assert follow_up.params["text"].startswith("<b>✅ Right!</b>\n\nAnswer: ")
    assert "ys and xs name the same list object" in follow_up.params["text"]
    assert follow_up.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Next question", "callback_data": "n1.-.0"},
                {"text": "Report", "callback_data": f"r1.{rnd.id}"},
            ]
        ]
    }
    assert '">Learn more</a> (' in follow_up.params["text"]  # the first reference, a link
    assert follow_up.params["link_preview_options"] == {"is_disabled": True}
    assert await points(sqlite_store, DM_ID) == (20, 1, 1)

    tg.api.clear()
    await tg.send(press("n1.-.0", chat_id=DM_ID, user_id=DM_ID))  # "Next question"
    ack, question = tg.api.sent()  # the press is answered at once, the question queued
    assert question.method in {"sendMessage", "sendPoll"} and question.params["chat_id"] == DM_ID
    assert ack.method == "answerCallbackQuery" and "text" not in ack.params


async def test_forged_stale_or_missing_callback_data_gets_a_clear_alert(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    for data in ("a1.forgedround1.A", "a1.x.A", "n1.NOPE.9", "z" * 64, "", None, "a1.ok✓.A"):
        tg.api.clear()
        await tg.send(press(data))
        alert = only(tg.api.sent())
        assert alert.method == "answerCallbackQuery"
        assert alert.params == {
            "callback_query_id": alert.params["callback_query_id"],
            "text": "This question is no longer open.",
            "show_alert": True,
        }
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_press_on_a_closed_round_says_so(tg: Harness, clock: FixedClock) -> None:
    await tg.send(command("/question alpha mid"))
    rnd = await round_of_keyboard(tg, only(tg.api.sent()))
    clock.advance(hours=25)
    tg.api.clear()
    await tg.send(press(right_token(tg, rnd)))
    assert only(tg.api.sent()).params["text"] == "This round is closed."


# -- answering quiz polls --------------------------------------------------------------------


async def test_poll_answer_scores_once_and_only_once(
    tg: Harness, sqlite_store: SqliteQuizStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.telegram.adapter")
    await tg.send(command("/question beta junior"))
    poll_id = f"poll-{_last_poll_number(tg)}"
    rnd = await round_of_poll(tg, sqlite_store, poll_id)
    right = rnd.order.index(0)  # beta-one's first choice (GET) is the right one
    tg.api.clear()

    await tg.send(poll_answer(poll_id, right, user_id=7, first_name="Cy"))
    assert await points(sqlite_store, 7, "Cy") == (10, 1, 1)
    assert tg.api.sent() == []  # a group gets no message per answer: the poll shows it

    await tg.send(poll_answer(poll_id, (right + 1) % 3, user_id=7, first_name="Cy"))  # replay
    assert await points(sqlite_store, 7, "Cy") == (10, 1, 1)
    assert tg.api.sent() == []
    assert "already answered" in caplog.text

    await tg.send(poll_answer("poll-unknown", 0, user_id=7))  # not a poll of ours
    assert await points(sqlite_store, 7, "Cy") == (10, 1, 1)


async def test_poll_answer_in_a_dm_follows_up_with_points_and_next(
    tg: Harness, sqlite_store: SqliteQuizStore
) -> None:
    await tg.send(command("/question beta junior", chat_id=DM_ID, user_id=DM_ID))
    poll_id = f"poll-{_last_poll_number(tg)}"
    rnd = await round_of_poll(tg, sqlite_store, poll_id)
    tg.api.clear()
    await tg.send(poll_answer(poll_id, rnd.order.index(0), user_id=DM_ID))
    follow_up = only(tg.api.sent())
    assert follow_up.method == "sendMessage" and follow_up.params["chat_id"] == DM_ID
    assert "+10 points" in follow_up.params["text"]
    assert follow_up.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Next question"


# -- scores and boards -----------------------------------------------------------------------


async def test_leaderboard_after_answers_from_several_users(
    tg: Harness, sqlite_store: SqliteQuizStore
) -> None:
    await tg.send(command("/question alpha mid"))  # 20 points for a right answer
    rnd = await round_of_keyboard(tg, only(tg.api.sent()))
    for user_id, name, right in ((1, "Ada", True), (2, "Bo", True), (3, "Cy", False)):
        await tg.send(
            press(right_token(tg, rnd) if right else wrong_token(tg, rnd), user_id=user_id,
                  first_name=name)
        )  # fmt: skip
    tg.api.clear()
    await tg.send(command("/leaderboard", user_id=3, first_name="Cy"))
    board = only(tg.api.sent())
    assert board.method == "sendMessage" and board.params["chat_id"] == GROUP_ID
    assert board.params["text"] == (
        "<b>🏆 Leaderboard — this group, this week</b>\n\n"
        "1. Ada — 20 pts (1/1 right)\n1. Bo — 20 pts (1/1 right)\n\n"
        "You have no points on this board yet."
    )  # ties share a rank; a wrong answer earns no place on the board
    tg.api.clear()
    await tg.send(command("/leaderboard all global", user_id=1))
    assert "everywhere, all time" in only(tg.api.sent()).params["text"]
    tg.api.clear()
    await tg.send(command("/leaderboard monthly", message_id=31))
    bad = only(tg.api.sent())
    assert bad.params["text"] == (
        "I don't understand 'monthly'. Use /leaderboard [week|all] [global]."
    )
    assert bad.params["reply_parameters"] == {
        "message_id": 31, "allow_sending_without_reply": True
    }  # fmt: skip


async def test_hostile_display_name_is_escaped(tg: Harness) -> None:
    hostile = '<b>Eve</b> & <a href="tg://x">'
    await tg.send(command("/question alpha mid"))
    rnd = await round_of_keyboard(tg, only(tg.api.sent()))
    await tg.send(press(right_token(tg, rnd), user_id=66, first_name=hostile))
    tg.api.clear()
    await tg.send(command("/leaderboard", user_id=66, first_name=hostile))
    text = only(tg.api.sent()).params["text"]
    assert '1. &lt;b&gt;Eve&lt;/b&gt; &amp; &lt;a href="tg://x"&gt; — 20 pts' in text
    assert "<a " not in text and "<b>Eve" not in text
    tg.api.clear()
    await tg.send(command("/score", user_id=66, first_name=hostile, message_id=12))
    score = only(tg.api.sent())
    assert score.params["text"].startswith(
        '<b>📊 &lt;b&gt;Eve&lt;/b&gt; &amp; &lt;a href="tg://x"&gt;</b>'
    )
    # a private reply in a group quotes the command, so it is clear whom it is for
    assert score.params["reply_parameters"]["message_id"] == 12


async def test_topics_help_and_start(tg: Harness) -> None:
    await tg.send(command("/topics"))
    assert only(tg.api.sent()).params["text"].startswith("<b>2 topics, 5 questions</b>")
    tg.api.clear()
    await tg.send(command("/help"))
    assert "/leaderboard [week|all] [global]" in only(tg.api.sent()).params["text"]
    tg.api.clear()
    await tg.send(command("/start", chat_id=DM_ID, user_id=DM_ID))
    assert only(tg.api.sent()).params["text"].startswith("Hi! I ask interview questions")


async def test_deep_link_opens_that_question(tg: Harness, sqlite_store: SqliteQuizStore) -> None:
    await tg.send(command("/start q_beta-one", chat_id=DM_ID, user_id=DM_ID))
    poll = only(tg.api.sent())
    assert poll.method == "sendPoll" and poll.params["question"].startswith("Which HTTP method")
    tg.api.clear()
    await tg.send(command("/start q_alpha-two", chat_id=DM_ID, user_id=DM_ID))
    assert "ys.append(3)" in only(tg.api.sent()).params["text"]
    tg.api.clear()
    await tg.send(command("/start q_no-such-question", chat_id=DM_ID, user_id=DM_ID))
    assert only(tg.api.sent()).params["text"] == (
        "There is no question 'no-such-question'. Try /question."
    )


async def test_bad_question_arguments_get_the_core_message(tg: Harness) -> None:
    await tg.send(command("/question nosuchtopic"))
    assert "I don't know the topic 'nosuchtopic'" in only(tg.api.sent()).params["text"]
    tg.api.clear()
    await tg.send(command("/question alpha 9"))
    assert only(tg.api.sent()).params["text"].startswith("Difficulty must be")


async def test_unknown_command_gets_a_hint_in_a_dm_but_silence_in_a_group(tg: Harness) -> None:
    await tg.send(command("/frobnicate now", chat_id=DM_ID, user_id=DM_ID))
    assert only(tg.api.sent()).params["text"] == (
        "I don't know the command /frobnicate. Type /help for the commands."
    )
    tg.api.clear()
    await tg.send(command("/frobnicate"))  # may be meant for another bot in the group
    assert tg.api.sent() == []


# -- robustness ------------------------------------------------------------------------------


async def test_api_error_during_send_is_logged_and_apologised_for_and_the_bot_goes_on(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    update = command("/question beta junior", message_id=44)
    tg.api.fail("sendPoll", 500, "Internal Server Error")
    await tg.send(update)
    failed, apology = tg.api.sent()
    assert failed.method == "sendPoll"
    assert apology.method == "sendMessage" and apology.params["text"] == (
        "Sorry, something went wrong on our side. It has been logged; please try again."
    )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == (
        f"telegram: update {update['update_id']} in chat {GROUP_ID} failed"
    )
    assert errors[0].exc_info is not None
    assert TOKEN not in caplog.text

    tg.api.clear()
    await tg.send(command("/question beta junior"))  # the next update works normally
    assert only(tg.api.sent()).method == "sendPoll"


async def test_bot_removed_from_the_chat_is_logged_without_an_apology(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.telegram.adapter")
    tg.api.fail("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
    await tg.send(command("/topics"))
    assert [c.method for c in tg.api.sent()] == ["sendMessage"]  # no second try, no apology
    assert "cannot write to chat" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_failing_alert_does_not_escape_the_handler(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    tg.api.fail("answerCallbackQuery", 400, "Bad Request: query is too old", times=2)
    await tg.send(press("a1.forgedround1.A"))
    assert "could not tell the user" in caplog.text
    tg.api.clear()
    await tg.send(command("/topics"))
    assert only(tg.api.sent()).method == "sendMessage"


async def test_edited_commands_and_channel_posts_are_ignored(tg: Harness) -> None:
    edited = command("/question beta junior")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": 1}
    await tg.send(edited)
    post = command("/question beta junior")
    post["channel_post"] = post.pop("message")
    post["channel_post"]["chat"] = {"id": -100999, "type": "channel", "title": "news"}
    del post["channel_post"]["from"]
    await tg.send(post)
    assert tg.api.sent() == []


# -- the command table: admin commands -------------------------------------------------------


async def _admin_echo(bot: Any, inc: Incoming) -> None:
    await bot.respond(inc, Reply((Paragraph(f"admin ok: {' '.join(inc.args)}"),)))


ADMIN_TABLE = (*COMMANDS, CommandSpec("daily", _admin_echo, "Daily question", admin=True))


async def test_command_menu_shows_admin_commands_only_to_group_admins(
    quiz: QuizService,
) -> None:
    async with harness(quiz, ADMIN_TABLE) as h:
        await h.adapter.publish_commands()
        default, admins = h.api.sent("setMyCommands")
    public = [
        {"command": "question", "description": "A question: /question [topic] [junior|mid|senior]"},
        {"command": "topics", "description": "Topics and how many questions each has"},
        {"command": "score", "description": "Your points, accuracy and streak"},
        {"command": "leaderboard", "description": "Top 10: /leaderboard [week|all] [global]"},
        {"command": "help", "description": "All commands"},
        {"command": "start", "description": "Welcome and how to play"},
    ]
    assert default.params == {"commands": public, "scope": {"type": "default"}}
    assert admins.params == {
        "commands": [*public, {"command": "daily", "description": "Daily question"}],
        "scope": {"type": "all_chat_administrators"},
    }


@pytest.mark.parametrize(
    ("status", "chat_id", "allowed"),
    [
        ("administrator", GROUP_ID, True),
        ("creator", GROUP_ID, True),
        ("member", GROUP_ID, False),
        ("administrator", DM_ID, False),  # a DM cannot change a group's settings
    ],
)
async def test_admin_commands_are_checked_against_the_chat_admins(
    quiz: QuizService, status: str, chat_id: int, allowed: bool
) -> None:
    async with harness(quiz, ADMIN_TABLE) as h:
        h.api.member_status = status
        await h.send(command("/daily set 09:00", chat_id=chat_id, user_id=DM_ID))
        text = h.api.sent()[-1].params["text"]
        if allowed:
            assert text == "admin ok: set 09:00"
            assert only(h.api.sent("getChatMember")).params == {
                "chat_id": GROUP_ID, "user_id": DM_ID
            }  # fmt: skip
        else:
            assert text == "Only the admins of a group can use /daily, and only in that group."


async def test_anonymous_group_admin_may_use_admin_commands(quiz: QuizService) -> None:
    async with harness(quiz, ADMIN_TABLE) as h:
        update = command("/daily off", user_id=1087968824, first_name="Group")
        update["message"]["sender_chat"] = {"id": GROUP_ID, "type": "supergroup", "title": "g"}
        await h.send(update)
        assert h.api.sent()[-1].params["text"] == "admin ok: off"
        assert h.api.sent("getChatMember") == []


async def test_short_aliases(tg: Harness) -> None:
    await tg.send(command("/q beta junior"))
    assert only(tg.api.sent()).method == "sendPoll"
    tg.api.clear()
    await tg.send(command("/me", first_name="Ada"))
    assert only(tg.api.sent()).params["text"].startswith("<b>📊 Ada</b>")
    tg.api.clear()
    await tg.send(command("/lb all"))
    assert "this group, all time" in only(tg.api.sent()).params["text"]
