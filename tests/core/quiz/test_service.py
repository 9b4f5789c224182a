"""QuizService use cases against both stores, with a fixed clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import (
    AlreadyAnswered,
    EmptyBank,
    InvalidAnswer,
    QuizError,
    RateLimited,
    RoundClosed,
    UnknownDifficulty,
    UnknownTopic,
)
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Code, Reply
from bot.core.quiz.ports import Store
from bot.core.quiz.rounds import RoundKind
from bot.core.quiz.service import Asked, QuizService
from tests.fakes.clock import FixedClock

GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")
OTHER_GROUP = ChatRef(Platform.TELEGRAM, "-1002", "-1002")
DM = ChatRef(Platform.TELEGRAM, "42", None)


def u(n: int) -> UserRef:
    return UserRef(Platform.TELEGRAM, str(n))


def right_label(asked: Asked) -> str:
    return asked.round.correct_label(asked.question)


def wrong_label(asked: Asked) -> str:
    return next(b.label for b in asked.reply.choices if b.label != right_label(asked))


def token(asked: Asked, label: str) -> str:
    return next(b.token for b in asked.reply.choices if b.label == label)


async def test_ask_shows_code_and_buttons_without_leaking_the_answer(
    service: QuizService,
) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, "alpha", "mid")
    assert asked.question.id == "alpha-two"
    assert any(isinstance(b, Code) and "ys.append(3)" in b.text for b in asked.reply.blocks)
    assert [b.label for b in asked.reply.choices] == ["A", "B", "C", "D"]
    assert len({b.token.rsplit(".", 1)[0] for b in asked.reply.choices}) == 1
    assert asked.poll is None  # code questions never go as a quiz poll


async def test_poll_form_for_short_questions(service: QuizService) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "junior")
    assert asked.poll is not None
    assert asked.poll.options[asked.poll.correct_index] == "GET"


async def test_right_answer_scores_once_and_second_press_is_refused(
    service: QuizService,
) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "1")
    reply = await service.answer(u(1), "Ada", token(asked, right_label(asked)))
    assert reply.private
    assert "Right" in reply.plain_text() and "+10 points" in reply.plain_text()
    assert reply.summary is not None and len(reply.summary) <= 200
    with pytest.raises(AlreadyAnswered, match="already answered"):
        await service.answer(u(1), "Ada", token(asked, wrong_label(asked)))
    # another person may still answer the same round, once
    other = await service.answer(u(2), "Bob", token(asked, wrong_label(asked)))
    assert "Not quite" in other.plain_text() and "Why not" in other.plain_text()
    board = await service.leaderboard(u(1), "Ada", GROUP)
    assert "1. Ada — 10 pts (1/1 right)" in board.plain_text()
    assert "Bob" not in board.plain_text()


async def test_dm_answer_offers_next_question(service: QuizService) -> None:
    asked = await service.ask(u(1), "Ada", DM)
    reply = await service.answer(u(1), "Ada", token(asked, right_label(asked)))
    assert [a.label for a in reply.actions] == ["Next question", "Report"]
    assert reply.actions[1].token == f"r1.{asked.round.id}"
    following = await service.press(u(1), "Ada", DM, reply.actions[0].token)
    assert isinstance(following, Asked)
    assert following.question.id != asked.question.id  # least recently seen first


async def test_forged_and_stale_tokens(service: QuizService, clock: FixedClock) -> None:
    for forged in ("a1.nosuchround.A", "a1.x.A", "garbage", "a1." + "z" * 70):
        with pytest.raises(InvalidAnswer, match="no longer open"):
            await service.answer(u(1), "Ada", forged)
    asked = await service.ask(u(1), "Ada", GROUP, "beta", "1")  # 3 choices: no D
    with pytest.raises(InvalidAnswer):
        await service.answer(u(1), "Ada", f"a1.{asked.round.id}.D")
    clock.advance(hours=25)
    with pytest.raises(RoundClosed, match="closed"):
        await service.answer(u(1), "Ada", token(asked, "A"))


async def test_unknown_topic_difficulty_and_empty_choice(service: QuizService) -> None:
    with pytest.raises(UnknownTopic):
        await service.ask(u(1), "Ada", GROUP, "cobol")
    with pytest.raises(UnknownDifficulty):
        await service.ask(u(1), "Ada", GROUP, "alpha", "expert")
    with pytest.raises(EmptyBank):
        await service.ask(u(1), "Ada", GROUP, "beta", "senior")
    with pytest.raises(QuizError, match="no question 'nope'"):
        await service.ask(u(1), "Ada", GROUP, question_id="nope")
    deep = await service.ask(u(1), "Ada", DM, question_id="alpha-three")
    assert deep.question.id == "alpha-three"


async def test_repeat_question_within_a_week_scores_nothing(
    service: QuizService, clock: FixedClock
) -> None:
    first = await service.ask(u(1), "Ada", DM, question_id="beta-one")
    await service.answer(u(1), "Ada", token(first, right_label(first)))
    clock.advance(days=1)
    again = await service.ask(u(1), "Ada", DM, question_id="beta-one")
    reply = await service.answer(u(1), "Ada", token(again, right_label(again)))
    assert "already scored this question in the last 7 days" in reply.plain_text()
    clock.advance(days=7)
    later = await service.ask(u(1), "Ada", DM, question_id="beta-one")
    reply = await service.answer(u(1), "Ada", token(later, right_label(later)))
    assert "+10 points" in reply.plain_text()


async def test_daily_cap_on_self_served_points(bank: QuestionBank, store: Store) -> None:
    clock = FixedClock()
    service = QuizService(bank, store, clock=clock, ask_rate=(1000, 60.0))
    service.rules = type(service.rules)(daily_cap=45)
    got = []
    for qid in ("alpha-three", "beta-two", "alpha-one"):  # 30 + 20 + 10 against a cap of 45
        asked = await service.ask(u(1), "Ada", DM, question_id=qid)
        reply = await service.answer(u(1), "Ada", token(asked, right_label(asked)))
        got.append(reply.plain_text())
    assert "+30 points" in got[0]
    assert "+15 points (you reached today's limit" in got[1]
    assert "No points: you reached today's limit" in got[2]
    score = await service.score(u(1), "Ada")
    assert "Points: 45 all time" in score.plain_text()


async def test_daily_round_speed_bonus_and_streak(service: QuizService, clock: FixedClock) -> None:
    q = service.bank.get("beta-two")
    assert q is not None
    for day in range(3):
        now = clock.now()
        asked = await service.open_round(
            q, GROUP, RoundKind.DAILY, now, now + timedelta(hours=12),
            day=date(2026, 12, 1) + timedelta(days=day),
        )  # fmt: skip
        clock.advance(minutes=30)
        reply = await service.answer(u(1), "Ada", token(asked, right_label(asked)))
        clock.advance(hours=23, minutes=30)
    # third day: base 20 + speed 5 (half the hour gone) + streak 4 (two days before)
    assert "+29 points (20 base, +5 speed, +4 streak). Daily streak: 3." in reply.plain_text()
    score = await service.score(u(1), "Ada")
    assert "Daily streak: 3 (best 3)" in score.plain_text()


async def test_leaderboards_per_community_global_week_and_ties(
    service: QuizService, clock: FixedClock
) -> None:
    async def answer_right(n: int, chat: ChatRef, qid: str) -> None:
        asked = await service.ask(u(n), f"P{n}", chat, question_id=qid)
        await service.answer(u(n), f"P{n}", token(asked, right_label(asked)))

    await answer_right(1, GROUP, "beta-two")  # 20
    await answer_right(2, GROUP, "beta-two")  # 20
    await answer_right(3, GROUP, "alpha-one")  # 10
    await answer_right(4, OTHER_GROUP, "alpha-three")  # 30, elsewhere
    here = (await service.leaderboard(u(3), "P3", GROUP)).plain_text()
    assert "1. P1 — 20 pts" in here and "1. P2 — 20 pts" in here and "3. P3 — 10 pts" in here
    assert "P4" not in here
    everywhere = (await service.leaderboard(u(3), "P3", GROUP, "global")).plain_text()
    assert everywhere.index("1. P4") < everywhere.index("2. P1")
    assert "4. P3" in everywhere
    clock.advance(days=7)
    week = (await service.leaderboard(u(3), "P3", GROUP, "week")).plain_text()
    assert "Nobody has scored here yet" in week
    all_time = (await service.leaderboard(u(3), "P3", GROUP, "all")).plain_text()
    assert "3. P3 — 10 pts" in all_time
    with pytest.raises(QuizError, match="/leaderboard"):
        await service.leaderboard(u(3), "P3", GROUP, "yesterday")


async def test_own_rank_shown_below_the_top_ten(service: QuizService) -> None:
    for n in range(12):
        qid = "alpha-three" if n < 11 else "alpha-one"
        asked = await service.ask(u(n), f"P{n}", GROUP, question_id=qid)
        await service.answer(u(n), f"P{n}", token(asked, right_label(asked)))
    board = (await service.leaderboard(u(11), "P11", GROUP, "all")).plain_text()
    assert board.count(" pts (") == 10
    assert "You: #12 with 10 pts" in board
    assert "1. P0" in board and "1. P9" in board  # ten-way tie shares rank 1


async def test_rate_limit_on_asking(bank: QuestionBank, store: Store) -> None:
    service = QuizService(bank, store, clock=FixedClock(), ask_rate=(3, 60.0))
    for _ in range(3):
        await service.ask(u(1), "Ada", DM)
    with pytest.raises(RateLimited):
        await service.ask(u(1), "Ada", DM)
    await service.ask(u(2), "Bob", DM)  # others are not affected


async def test_score_per_topic_and_help_texts(service: QuizService) -> None:
    asked = await service.ask(u(1), "Ada", DM, question_id="alpha-one")
    await service.answer(u(1), "Ada", token(asked, wrong_label(asked)))
    score = (await service.score(u(1), "Ada")).plain_text()
    assert "Alpha topic: 0/1 (0%)" in score
    topics = service.topics().plain_text()
    assert "alpha — Alpha topic: 3 (1 junior, 1 mid, 1 senior)" in topics
    assert "/leaderboard" in service.help(Platform.DISCORD).plain_text()
    assert isinstance(service.welcome(Platform.TELEGRAM), Reply)


async def test_poll_answers_map_to_rounds(service: QuizService) -> None:
    asked = await service.ask(u(1), "Ada", GROUP, question_id="beta-one")
    assert asked.poll is not None
    await service.link(Platform.TELEGRAM, "poll-77", asked.round.id)
    reply = await service.answer_poll(
        u(5), "Eve", Platform.TELEGRAM, "poll-77", asked.poll.correct_index
    )
    assert "Right" in reply.plain_text()
    with pytest.raises(InvalidAnswer):
        await service.answer_poll(u(5), "Eve", Platform.TELEGRAM, "poll-unknown", 0)


async def test_a_busy_round_shares_replies_only_between_equal_outcomes(
    service: QuizService, clock: FixedClock
) -> None:
    """Replies are cached per round, label and award: players who answer alike get the same
    reply, and one who scored differently (a later, smaller speed bonus) never gets another's."""
    q = service.bank.get("beta-two")
    assert q is not None
    now = clock.now()
    asked = await service.open_round(q, GROUP, RoundKind.DAILY, now, now + timedelta(hours=12))
    right = token(asked, right_label(asked))
    first = await service.answer(u(1), "Ada", right)
    second = await service.answer(u(2), "Bo", right)
    assert first is second  # the same outcome: built once
    clock.advance(minutes=30)
    later = await service.answer(u(3), "Cy", right)
    assert "+10 speed" in first.plain_text() and "+5 speed" in later.plain_text()
