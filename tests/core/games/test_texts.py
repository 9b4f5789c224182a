"""What a game says at its end and in a hint: winners, ties, no winner, long tables."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.common.identity import ChatRef, Platform
from bot.core.games import Game, GameSettings, Standing, texts

GAME = Game(
    id="g", chat=ChatRef(Platform.DISCORD, "1", "2"), starter_id=1, starter_name="Ann",
    settings=GameSettings(count=3), question_ids=("a", "b", "c"),
    created_at=datetime(2026, 12, 1, tzinfo=UTC), position=2,
)  # fmt: skip


def row(name: str, points: int, right: int, *marks: bool | None) -> Standing:
    return Standing(hash(name) % 1000, name, points, right, len(marks), 0.0, marks)


def test_one_winner_and_a_line_per_player_with_shared_ranks() -> None:
    final = texts.final(
        GAME,
        [row("Ann", 60, 2, True, True, None), row("Bo", 30, 1, True, False, None),
         row("Cy", 30, 1, None, True, False), row("Di", 0, 0, False, None, None)],
        3,
    ).plain_text()  # fmt: skip
    assert "🏆 Winner: Ann with 60 points!" in final
    assert "1. Ann — 60 pts, 2 of 3 right ✅✅·" in final
    assert "2. Bo — 30 pts, 1 of 3 right ✅❌·" in final
    assert "2. Cy — 30 pts, 1 of 3 right ·✅❌" in final  # equal: the same rank
    assert "4. Di — 0 pts, 0 of 3 right ❌··" in final


def test_a_tie_at_the_top_names_every_winner_and_no_right_answer_names_none() -> None:
    tie = texts.final(GAME, [row("Ann", 45, 1, True), row("Bo", 45, 1, True)], 1).plain_text()
    assert "🏆 A tie at 45 points: Ann, Bo!" in tie and "Winner:" not in tie
    none = texts.final(GAME, [row("Ann", 0, 0, False), row("Bo", 0, 0, None)], 1).plain_text()
    assert "No right answers this time: no winner." in none and "🏆" not in none
    empty = texts.final(GAME, [], 3).plain_text()
    assert "Nobody answered" in empty


def test_more_players_than_the_table_holds_are_counted() -> None:
    many = [row(f"P{n:02d}", 100 - n, 1, True) for n in range(texts.FINAL_ROWS + 7)]
    final = texts.final(GAME, many, 1).plain_text()
    assert f"{texts.FINAL_ROWS}. P{texts.FINAL_ROWS - 1:02d}" in final
    assert f"P{texts.FINAL_ROWS:02d}" not in final
    assert "… and 7 more players." in final
    # 20 players of 20 questions with ordinary names fit one Discord message (2,000)
    full = [row(f"Player {n:02d}", 400 - n, 10, *([True, False] * 10)) for n in range(20)]
    assert len(texts.final(GAME, full, 20).plain_text()) < 2000


def test_a_hint_names_the_option_by_its_text_too() -> None:
    said = texts.hint(GAME, "C", "It only exists on Windows").plain_text()
    assert said.startswith("💡 Hint for question 3: it is not C) It only exists on Windows.")
