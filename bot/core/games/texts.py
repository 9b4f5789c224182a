"""Everything a game says: the start, each question, hints, reveals, standings, the end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.bank.questions import DIFFICULTY_NAMES, LABELS, Question
from bot.core.common.identity import shown_name
from bot.core.common.replies import Block, Countdown, Paragraph, Reply, learn_more
from bot.core.games.model import (
    COUNT_RANGE,
    SECONDS_RANGE,
    Game,
    GameSettings,
    GameState,
    Standing,
)
from bot.core.quiz import Round, RoundStats, report_button

STANDINGS_TOP = 5  # after each question
FINAL_ROWS = 20  # at the end; the rest are counted
USAGE = (
    "Start a game with /quiz [count] [topic] [difficulty] [seconds] [hints], e.g. "
    "/quiz 5 django mid 30s hints. Stop it with /quiz stop; /quiz status shows where it is."
)
HELP_LINES = (
    "/quiz [count] [topic] [level] [seconds] [hints] — a timed game for the whole chat "
    "(Discord: /quiz start); /quiz status, /quiz stop",
)
ARGS_TOO_LONG = "That is too long for /quiz settings. " + USAGE
NO_GAME = "No game is running here. " + USAGE
UNAVAILABLE = "Group quiz games are not available in this run of the bot."
# the typed form's entry in a command menu (Telegram's)
COMMAND_DESCRIPTION = (
    "Group quiz game: /quiz [count] [topic] [level] [seconds] [hints], stop, status"
)
SCORING_NOTE = (
    "Points: the base by level plus up to half again for speed (all of it in the first "
    "fifth of the time). Right answers count on the boards under the usual limits "
    "(a question scores once a week per person; the daily limit)."
)


def unknown_word(word: str) -> str:
    return f"I don't understand '{word[:30]}'. " + USAGE


def too_few(found: int) -> str:
    matches = "question matches" if found == 1 else "questions match"
    return (
        f"Only {found} {matches} that topic and level; a game needs at least "
        f"{COUNT_RANGE[0]}. Try a wider choice (another level, or no topic)."
    )


def count_out_of_range(count: int) -> str:
    low, high = COUNT_RANGE
    return f"A game has {low} to {high} questions; you asked for {count}."


def seconds_out_of_range(seconds: int) -> str:
    low, high = SECONDS_RANGE
    return f"Each question runs {low} to {high} seconds; you asked for {seconds}."


def _what(settings: GameSettings, topic_title: str | None) -> str:
    level = DIFFICULTY_NAMES[settings.difficulty] if settings.difficulty else None
    about = " ".join(x for x in (level, topic_title) if x) or "mixed"
    return f"{about} questions"


def started(game: Game, topic_title: str | None, pause_seconds: int) -> Reply:
    s = game.settings
    hints = (
        " A hint strikes out one wrong option halfway through (later answers earn half)."
        if s.hints
        else ""
    )
    short = (
        f" Only {game.count} questions match, so the game has {game.count}."
        if game.count < s.count
        else ""
    )
    return Reply(
        (
            Paragraph(f"🎮 Quiz! {shown_name(game.starter_name)} started a game", bold=True),
            Paragraph(
                f"{game.count} {_what(s, topic_title)}, {s.seconds} s each.{short} One answer "
                f"per person per question; your result comes privately. "
                f"The first question comes in {pause_seconds} s.{hints}"
            ),
            Paragraph(SCORING_NOTE),
        )
    )


def already_running(game: Game, now: datetime) -> str:
    where = status_line(game, now)
    return (
        f"A game is already running in this chat ({where}, started by "
        f"{shown_name(game.starter_name)}). Play along, or wait for it to end; the starter or "
        "an admin can end it with /quiz stop."
    )


def status_line(game: Game, now: datetime) -> str:
    if game.position < 0:
        return f"starting, {game.count} questions"
    number = f"question {game.position + 1} of {game.count}"
    if game.deadline is not None and game.deadline > now and game.phase == "asking":
        left = int((game.deadline - now).total_seconds() + 0.999)
        return f"{number}, {left} s left"
    return f"{number}, answer shown, next coming"


def status(game: Game, now: datetime, standings: Sequence[Standing]) -> Reply:
    blocks = [
        Paragraph(f"🎮 Game in progress: {status_line(game, now)}", bold=True),
        Paragraph(f"Started by {shown_name(game.starter_name)}."),
    ]
    if standings:
        blocks.append(Paragraph(table(standings[:STANDINGS_TOP])))
    return Reply(tuple(blocks))


def question(game: Game, question: Question, rnd: Round, topic_title: str, base: Reply) -> Reply:
    """The game's question: a numbered header, the quiz's own blocks and buttons, and the
    deadline as a countdown."""
    assert rnd.closes_at is not None
    header = (
        f"Question {game.position + 1}/{game.count} · {topic_title} · "
        f"{DIFFICULTY_NAMES[question.difficulty]}"
    )
    body = tuple(b for b in base.blocks[1:])  # the quiz's header line is replaced by ours
    # the deadline right under the header: a cut at the platform's length takes the end
    return Reply(
        (Paragraph(header, bold=True), Countdown("Closes", rnd.closes_at), *body),
        choices=base.choices,
    )


QUESTION_BELOW = "The question was:"  # where a closed post's copy of the question starts


def closed(game: Game, base: Reply, reveal: Reply | None = None) -> Reply:
    """The question's post once time is up, without buttons: with `reveal`, the reveal
    first and the question below it (an edit shows what matters first, and a cut at the
    platform's length limit takes the end); else the question and "Time is up"."""
    header = f"Question {game.position + 1}/{game.count} (closed)"
    question = (Paragraph(header, bold=True), *base.blocks[1:])
    if reveal is None:
        return Reply((*question, Paragraph("⏱ Time is up.")))
    return Reply(
        (*reveal.blocks, Paragraph(QUESTION_BELOW, bold=True), *question[1:]),
        actions=reveal.actions,
    )


def hint(game: Game, label: str, text: str) -> Reply:
    """`label`) `text`: the option struck out, by its text too (a Telegram poll's options
    carry no letters)."""
    return Reply(
        (
            Paragraph(
                f"💡 Hint for question {game.position + 1}: it is not {label}) {text}. "
                "Answers from now on earn half."
            ),
        )
    )


def reveal(
    game: Game,
    question: Question,
    rnd: Round,
    stats: RoundStats,
    standings: Sequence[Standing],
    pause_seconds: int,
) -> Reply:
    right = question.choices[question.correct_index]
    label = LABELS[rnd.order.index(question.correct_index)]
    blocks: list[Block] = [
        Paragraph(
            f"⏱ Time! Question {game.position + 1}/{game.count}: the answer is {label}) "
            f"{right.text}",
            bold=True,
        ),
        Paragraph(question.explanation),
        Paragraph(
            f"{stats.answered} answered, {stats.correct} right."
            if stats.answered
            else "Nobody answered this one."
        ),
    ]
    if stats.fastest:
        fastest = ", ".join(f"{shown_name(s.name)} ({s.seconds:.1f} s)" for s in stats.fastest)
        blocks.append(Paragraph(f"Fastest right: {fastest}"))
    if standings:
        blocks.append(Paragraph("Standings", bold=True))
        blocks.append(Paragraph(table(standings[:STANDINGS_TOP])))
    blocks.extend(learn_more(question.references))
    if not game.is_last and game.state is GameState.RUNNING:  # not once it is stopped
        blocks.append(Paragraph(f"Next question in {pause_seconds} s."))
    return Reply(tuple(blocks), actions=(report_button(rnd.id),))


def ranked(standings: Sequence[Standing]) -> list[tuple[int, Standing]]:
    """Competition ranks: equal points and right answers share a rank."""
    out: list[tuple[int, Standing]] = []
    for position, s in enumerate(standings, 1):
        same = out and (out[-1][1].points, out[-1][1].right) == (s.points, s.right)
        out.append((out[-1][0] if same else position, s))
    return out


def table(standings: Sequence[Standing]) -> str:
    """Ranked lines; equal points and right answers share a rank."""
    return "\n".join(
        f"{rank}. {shown_name(s.name)} — {s.points} pts ({s.right} right)"
        for rank, s in ranked(standings)
    )


INTERRUPTED = "interrupted for too long"
NO_MORE_QUESTIONS = "its questions were removed"
QUESTION_REMOVED = "This question was removed while it was asked: no answer to show."


def final(game: Game, standings: Sequence[Standing], played: int, why: str | None = None) -> Reply:
    """The end: who won, and one line per player with their points and a mark per question
    (right, wrong, not answered), so 20 players of 20 questions fit one message."""
    stopped = game.ended_by is not None
    if why is not None:
        title = f"⏹ Game over: {why}, after {played} of {game.count} questions"
    elif not stopped:
        title = f"🏁 Game over: {game.count} questions"
    elif played == 0:
        title = f"🛑 Game stopped by {shown_name(game.ended_by or '')} before the first question"
    else:
        title = (
            f"🛑 Game stopped by {shown_name(game.ended_by or '')} after {played} of "
            f"{game.count} questions"
        )
    blocks = [Paragraph(title, bold=True)]
    if not standings:
        blocks.append(Paragraph("Nobody answered. Start another with /quiz."))
        return Reply(tuple(blocks))
    top = standings[0]
    winners = [s for s in standings if (s.points, s.right) == (top.points, top.right)]
    if top.points == 0:
        blocks.append(Paragraph("No right answers this time: no winner."))
    elif len(winners) == 1:
        blocks.append(
            Paragraph(f"🏆 Winner: {shown_name(top.name)} with {top.points} points!", bold=True)
        )
    else:
        names = ", ".join(shown_name(w.name) for w in winners)
        blocks.append(Paragraph(f"🏆 A tie at {top.points} points: {names}!", bold=True))
    lines = [
        f"{rank}. {shown_name(s.name)} — {s.points} pts, {s.right} of {played} right "
        f"{marks(s.results)}"
        for rank, s in ranked(standings[:FINAL_ROWS])
    ]
    blocks.append(Paragraph("\n".join(lines)))
    if len(standings) > FINAL_ROWS:
        blocks.append(Paragraph(f"… and {len(standings) - FINAL_ROWS} more players."))
    if len(standings) == 1:
        blocks.append(Paragraph("A game of one: its points count under the usual limits."))
    return Reply(tuple(blocks))


def marks(results: Sequence[bool | None]) -> str:
    """One mark per question played: right, wrong, or not answered."""
    return "".join("✅" if r else "❌" if r is False else "·" for r in results)


def stop_refused(game: Game) -> str:
    return f"Only {shown_name(game.starter_name)}, who started this game, or an admin can stop it."
