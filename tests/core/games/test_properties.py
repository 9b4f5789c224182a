"""Properties of a game's scoring and of `/quiz`'s argument parser (untrusted text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.bank.question_bank import QuestionBank, load_bank
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.games import COUNT_RANGE, SECONDS_RANGE, GameSettings, parse_game_args
from bot.core.quiz import AnswerContext, Round, RoundKind, ScoringRules, game_points
from bot.core.quiz.scoring import award
from tests.core.properties import ANY_TEXT, PROPERTIES, attempt, sendable
from tests.fakes.paths import TEST_BANK

BANK = load_bank(TEST_BANK)
OPENED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = ScoringRules()


def game_round(seconds: int, hints: bool) -> Round:
    return Round(
        id="r", question_id="q", chat=ChatRef(Platform.DISCORD, "1", "2"), kind=RoundKind.GAME,
        order=(0, 1, 2, 3), opened_at=OPENED, closes_at=OPENED + timedelta(seconds=seconds),
        hint_at=OPENED + timedelta(seconds=seconds / 2) if hints else None,
    )  # fmt: skip


WINDOWS = st.integers(*SECONDS_RANGE)
ELAPSED = st.floats(min_value=-5, max_value=200, allow_nan=False)


@PROPERTIES
@given(seconds=WINDOWS, hints=st.booleans(), level=st.sampled_from([1, 2, 3]),
       a=ELAPSED, b=ELAPSED)  # fmt: skip
def test_a_later_answer_never_earns_more_and_nothing_is_negative(
    seconds: int, hints: bool, level: int, a: float, b: float
) -> None:
    rnd = game_round(seconds, hints)
    base = RULES.base_points[level - 1]
    early, late = sorted((a, b))
    first = game_points(RULES, base, rnd, OPENED + timedelta(seconds=early))
    second = game_points(RULES, base, rnd, OPENED + timedelta(seconds=late))
    assert first >= second >= 0
    assert first <= base + base * RULES.game_speed_fraction
    if early <= seconds * RULES.game_full_speed:  # the first fifth: the whole speed share
        assert first == base + round(base * RULES.game_speed_fraction)


@PROPERTIES
@given(seconds=WINDOWS, hints=st.booleans(), level=st.sampled_from([1, 2, 3]), at=ELAPSED,
       today=st.integers(0, 400), scored_ago=st.none() | st.integers(0, 30 * 24 * 3600),
       correct=st.booleans())  # fmt: skip
def test_game_points_on_the_boards_respect_the_caps(
    seconds: int,
    hints: bool,
    level: int,
    at: float,
    today: int,
    scored_ago: int | None,
    correct: bool,
) -> None:
    rnd = game_round(seconds, hints)
    when = OPENED + timedelta(seconds=at)
    last = None if scored_ago is None else when - timedelta(seconds=scored_ago)
    ctx = AnswerContext(today, last, 0, None)
    got = award(RULES, rnd, level, correct, when, ctx)
    assert got.points >= 0
    if not correct:
        assert got.points == 0
        return
    assert got.points <= max(0, RULES.daily_cap - today)  # the daily cap, games included
    if last is not None and when - last < RULES.repeat_window:
        assert got.points == 0 and got.capped == "repeat"  # a question scores once a week
    elif got.capped is None:
        assert got.points == game_points(RULES, RULES.base_points[level - 1], rnd, when)
    assert got.daily_streak is None  # games never touch the daily streak


@PROPERTIES
@given(text=ANY_TEXT | st.text(alphabet=" 0123456789smhintopc:=", max_size=40))
@example(text="7\ud800 topic:alpha\udfff \ud800")  # a JSON escape in a Telegram message
def test_any_quiz_arguments_give_valid_settings_or_a_clear_refusal(
    text: str,
) -> None:
    bank = BANK
    result = attempt(lambda: parse_game_args(text, bank))
    assert sendable(result)  # a refusal quotes the words: never a lone surrogate of them
    if text == "7\ud800 topic:alpha\udfff \ud800":  # the surrogates go, the rest is read
        assert result == GameSettings(count=7, topic="alpha")
    if isinstance(result, QuizError):
        assert result.message and "Traceback" not in result.message
        return
    assert COUNT_RANGE[0] <= result.count <= COUNT_RANGE[1]
    assert SECONDS_RANGE[0] <= result.seconds <= SECONDS_RANGE[1]
    assert result.topic is None or result.topic in {t.slug for t in bank.topics()}


@PROPERTIES
@given(data=st.data(), count=st.integers(*COUNT_RANGE), seconds=WINDOWS,
       level=st.none() | st.sampled_from([1, 2, 3]), hints=st.booleans())  # fmt: skip
def test_every_written_form_of_valid_settings_reads_back(
    data: st.DataObject, count: int, seconds: int, level: int | None, hints: bool
) -> None:
    bank = BANK
    topic = data.draw(st.none() | st.sampled_from([t.slug for t in bank.topics()]))
    words = [
        data.draw(st.sampled_from([f"count:{count}", f"count={count}", f"questions:{count}"])),
        data.draw(st.sampled_from([f"{seconds}s", f"seconds:{seconds}", f"{seconds}sec"])),
    ]
    if topic:
        words.append(data.draw(st.sampled_from([topic, f"topic:{topic}", topic.upper()])))
    if level:
        names = {1: ["junior", "easy"], 2: ["mid", "medium"], 3: ["senior", "hard"]}[level]
        words.append(
            data.draw(st.sampled_from([*names, f"level:{level}", f"difficulty:{names[0]}"]))
        )
    if hints:
        words.append(data.draw(st.sampled_from(["hints", "hints:on", "hint=yes"])))
    text = " ".join(data.draw(st.permutations(words)))
    assert parse_game_args(text, bank) == GameSettings(count, seconds, topic, level, hints)


def test_bare_numbers_are_the_count_then_the_seconds(bank: QuestionBank) -> None:
    assert parse_game_args("7 45", bank) == GameSettings(count=7, seconds=45)
    assert parse_game_args("", bank) == GameSettings()
    for text, words in (("2", "3 to 20"), ("5 9", "10 to 120"), ("5 6 7", "'7'"),
                        ("hints:maybe", "'hints:maybe'"), ("nosuch", "topic")):  # fmt: skip
        error = attempt(lambda text=text: parse_game_args(text, bank))  # type: ignore[misc]
        assert isinstance(error, QuizError) and words in error.message, (text, error)
