"""Where a button counts, and how other people's names show (issue 18, items 17, 19, 20, 21),
through the real QuizService over both stores."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.app.bootstrap import App
from bot.core.common.errors import InvalidAnswer
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.quiz.ports import RoundStats, Solver
from bot.core.quiz.rounds import RoundKind
from bot.core.quiz.service import Asked, QuizService
from bot.core.quiz.texts import reveal_reply
from tests.fakes.clock import FixedClock

GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")
OTHER_GROUP = ChatRef(Platform.TELEGRAM, "-1002", "-1002")
ADA_DM = ChatRef(Platform.TELEGRAM, "1", None)
BOB_DM = ChatRef(Platform.TELEGRAM, "2", None)
CHANNEL = ChatRef(Platform.DISCORD, "555", "777")
SAME_SERVER = ChatRef(Platform.DISCORD, "556", "777")
WJ = "\u2060"  # word joiner: breaks mention syntax, shows nothing


def u(n: int) -> UserRef:
    return UserRef(Platform.TELEGRAM, str(n))


def token(asked: Asked, label: str = "A") -> str:
    return next(b.token for b in asked.reply.choices if b.label == label)


def right(asked: Asked) -> str:
    """The token of the right option (a right answer puts its player on the board)."""
    return token(asked, asked.round.correct_label(asked.question))


async def test_a_round_counts_only_in_its_own_chat(service: QuizService) -> None:
    """A forwarded message keeps its buttons: pressed elsewhere, they are refused."""
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "junior")
    for elsewhere in (OTHER_GROUP, BOB_DM):
        with pytest.raises(InvalidAnswer, match="asked in another chat"):
            await service.press(u(2), "Bob", elsewhere, token(asked))
    assert isinstance(await service.press(u(2), "Bob", GROUP, token(asked)), Reply)
    # a DM round counts in that DM only, never in a group it was forwarded to
    private = await service.ask(u(1), "Ada", ADA_DM, "beta", "junior")
    with pytest.raises(InvalidAnswer, match="asked in another chat"):
        await service.press(u(2), "Bob", GROUP, token(private))
    with pytest.raises(InvalidAnswer, match="asked in another chat"):
        await service.answer(u(1), "Ada", token(private), chat=BOB_DM)
    assert isinstance(await service.press(u(1), "Ada", ADA_DM, token(private)), Reply)


async def test_the_daily_question_counts_in_the_channel_it_was_posted_to(
    service: QuizService, clock: FixedClock
) -> None:
    question = service.bank.get("beta-one")
    assert question is not None
    now = clock.now()
    asked = await service.open_round(
        question, CHANNEL, RoundKind.DAILY, now, now + timedelta(hours=12), day=now.date()
    )
    discord_user = UserRef(Platform.DISCORD, "42")
    with pytest.raises(InvalidAnswer, match="another chat"):
        await service.press(discord_user, "Cy", SAME_SERVER, token(asked))
    reply = await service.press(discord_user, "Cy", CHANNEL, token(asked))
    assert isinstance(reply, Reply) and "point" in reply.plain_text()


async def test_next_question_buttons_ask_wherever_they_are_pressed(service: QuizService) -> None:
    asked = await service.ask(u(1), "Ada", ADA_DM, "beta", "junior")
    reply = await service.answer(u(1), "Ada", token(asked), chat=ADA_DM)
    following = await service.press(u(1), "Ada", GROUP, reply.actions[0].token)
    assert isinstance(following, Asked) and following.round.chat == GROUP


async def test_a_token_with_a_trailing_newline_is_refused(service: QuizService) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "junior")
    with pytest.raises(InvalidAnswer, match="no longer open"):
        await service.press(u(1), "Ada", GROUP, token(asked) + "\n")
    with pytest.raises(InvalidAnswer, match="no longer open"):
        await service.press(u(1), "Ada", GROUP, "n1.beta.1\n")


async def test_names_on_boards_are_clean_and_cannot_spoof_or_mention(
    service: QuizService,
) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "junior")
    names = {
        2: "\x1b[2J\x1b[31mMallory\x1b[0m",  # would clear and recolour a terminal
        3: "Eve\u202egnp.exe",  # shows as "Eveexe.png" with the override
        4: "@everyone",
        5: "<@123456789012345678>",  # a Discord user mention
        6: "/daily off",  # a tappable command in a Telegram group
    }
    for n, name in names.items():
        await service.press(u(n), name, GROUP, right(asked))
    board = (await service.leaderboard(u(1), "Ada", GROUP, "all")).plain_text()
    assert "\x1b" not in board and "\u202e" not in board
    assert "[2J[31mMallory[0m" in board and "Evegnp.exe" in board
    assert f"@{WJ}everyone" in board
    assert f"<@{WJ}123456789012345678>" in board
    assert f"/{WJ}daily off" in board
    header = (await service.score(u(3), "Eve\u202egnp.exe")).blocks[0]
    assert isinstance(header, Paragraph) and header.text == "📊 Evegnp.exe"


async def test_a_right_to_left_name_is_isolated_from_the_points_around_it(
    service: QuizService,
) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "junior")
    await service.press(u(7), "\u202bعمر\u202c", GROUP, right(asked))
    board = (await service.leaderboard(u(1), "Ada", GROUP, "all")).plain_text()
    assert "1. \u2068عمر\u2069 — " in board
    question = service.bank.get("beta-one")
    assert question is not None
    reveal = reveal_reply(question, asked.round, RoundStats(1, 1, (Solver(7, "ع\u202e", 2.0),)))
    assert "Fastest: \u2068ع\u2069 (2s)" in reveal.plain_text()


async def test_names_stored_before_cleaning_are_cleaned_when_shown(sqlite_app: App) -> None:
    service = sqlite_app.quiz
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "junior")
    await service.press(u(2), "Bob", GROUP, right(asked))
    assert sqlite_app.database is not None
    legacy = sqlite3.connect(sqlite_app.database.path)
    legacy.execute("UPDATE players SET name = ?", ("\x1b]0;pwned\x07B\u202eob",))
    legacy.commit()
    legacy.close()
    board = (await service.leaderboard(u(1), "Ada", GROUP, "all")).plain_text()
    assert "1. ]0;pwnedBob — " in board
