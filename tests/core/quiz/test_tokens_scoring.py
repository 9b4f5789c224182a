from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.bank.question_bank import QuestionBank, parse_difficulty, pick_least_recent
from bot.core.common.errors import InvalidAnswer, UnknownDifficulty, UnknownTopic
from bot.core.common.identity import ChatRef, Platform
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import (
    AnswerContext,
    BoardRow,
    ScoringRules,
    award,
    iso_week,
    rank_rows,
)
from bot.core.quiz.tokens import AnswerToken, NextToken, answer_token, decode, next_token

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FRESH = AnswerContext(0, None, 0, None)


def make_round(kind: RoundKind = RoundKind.ASK, day: date | None = None) -> Round:
    chat = ChatRef(Platform.DISCORD, "c1", "g1")
    return Round("abcdefghijk", "q", chat, kind, (2, 0, 1), T0, T0 + timedelta(hours=12), day=day)


def test_tokens_round_trip_and_fit_platform_limits() -> None:
    token = answer_token("abcdefghijk", "C")
    assert decode(token) == AnswerToken("abcdefghijk", "C")
    assert len(token.encode()) <= 64
    assert decode(next_token("django-orm", 2)) == NextToken("django-orm", 2)
    assert decode(next_token(None, None)) == NextToken(None, None)


@pytest.mark.parametrize(
    "forged",
    ["", "a1", "a1.abc.A", "a1.abcdefghijk.E", "a2.abcdefghijk.A", "a1.abcdefghijk.A.x",
     "a1.abc/efghijk.A", "x" * 65, "n1.../.0", None, 42,
     "a1.abcdefghijk.A\n", "n1.-.0\n", "n1.alpha.2\n"],  # `$` took a trailing newline
)  # fmt: skip
def test_forged_tokens_are_invalid(forged: object) -> None:
    with pytest.raises(InvalidAnswer, match="no longer open"):
        decode(forged)


def test_token_does_not_depend_on_the_right_answer() -> None:
    rnd = make_round()
    tokens = [answer_token(rnd.id, label) for label in "ABC"]
    assert all(t.startswith(f"a1.{rnd.id}.") for t in tokens)


def test_self_served_points_by_difficulty() -> None:
    rules = ScoringRules()
    for level, points in ((1, 10), (2, 20), (3, 30)):
        assert award(rules, make_round(), level, True, T0, FRESH).points == points
    assert award(rules, make_round(), 3, False, T0, FRESH).points == 0


def test_repeat_within_a_week_scores_nothing() -> None:
    ctx = AnswerContext(0, T0 - timedelta(days=6, hours=23), 0, None)
    result = award(ScoringRules(), make_round(), 2, True, T0, ctx)
    assert (result.points, result.capped) == (0, "repeat")
    ctx = AnswerContext(0, T0 - timedelta(days=7), 0, None)
    assert award(ScoringRules(), make_round(), 2, True, T0, ctx).points == 20


def test_daily_cap_clips_self_served_points() -> None:
    result = award(ScoringRules(), make_round(), 3, True, T0, AnswerContext(185, None, 0, None))
    assert (result.points, result.capped) == (15, "daily_cap")
    result = award(ScoringRules(), make_round(), 3, True, T0, AnswerContext(200, None, 0, None))
    assert result.points == 0


def test_daily_speed_bonus_decays_over_an_hour_and_streak_bonus_caps() -> None:
    rnd = make_round(RoundKind.DAILY, date(2026, 12, 1))
    instant = award(ScoringRules(), rnd, 2, True, T0, FRESH)
    assert (instant.base, instant.speed_bonus, instant.daily_streak) == (20, 10, 1)
    half = award(ScoringRules(), rnd, 2, True, T0 + timedelta(minutes=30), FRESH)
    assert half.speed_bonus == 5
    late = award(ScoringRules(), rnd, 2, True, T0 + timedelta(hours=2), FRESH)
    assert late.speed_bonus == 0 and late.points == 20
    on_a_roll = AnswerContext(0, None, 30, date(2026, 11, 30))
    rolled = award(ScoringRules(), rnd, 2, True, T0 + timedelta(hours=2), on_a_roll)
    assert (rolled.daily_streak, rolled.streak_bonus) == (31, 20)
    broken = AnswerContext(0, None, 30, date(2026, 11, 29))
    assert award(ScoringRules(), rnd, 2, False, T0, broken).daily_streak == 1


def test_practice_scores_no_points() -> None:
    result = award(ScoringRules(), make_round(RoundKind.PRACTICE), 3, True, T0, FRESH)
    assert result.correct and result.points == 0


def test_ties_share_a_rank() -> None:
    rows = [BoardRow(i, f"p{i}", pts, 0, 0) for i, pts in enumerate([50, 40, 40, 30, 30, 30, 10])]
    assert [r.rank for r in rank_rows(rows)] == [1, 2, 2, 4, 4, 4, 7]


def test_iso_week_label() -> None:
    assert iso_week(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-W01"
    assert iso_week(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"


def test_difficulty_and_topic_resolution(bank: QuestionBank) -> None:
    assert [parse_difficulty(x) for x in ("1", "mid", "Senior", None, "")] == [1, 2, 3, None, None]
    with pytest.raises(UnknownDifficulty):
        parse_difficulty("impossible")
    assert bank.resolve_topic("Alpha") == "alpha"
    assert bank.resolve_topic("Beta topic") == "beta"
    assert bank.resolve_topic("al") == "alpha"
    with pytest.raises(UnknownTopic, match="/topics"):
        bank.resolve_topic("kubernetes")


def test_selection_prefers_unseen_then_least_recent(bank: QuestionBank) -> None:
    pool = bank.candidates("alpha", None)
    rng = random.Random(1)
    seen = {"alpha-one": T0, "alpha-two": T0 - timedelta(days=1)}
    assert pick_least_recent(pool, seen, rng).id == "alpha-three"
    seen["alpha-three"] = T0 - timedelta(hours=1)
    assert pick_least_recent(pool, seen, rng).id == "alpha-two"
