"""All wording of the quiz, as pure functions returning Reply values (plain text; adapters
escape)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.core.bank.question_bank import TopicInfo
from bot.core.bank.questions import DIFFICULTY_NAMES, LABELS, Question
from bot.core.common.identity import Platform, shown_name
from bot.core.common.replies import Block, Button, Code, Paragraph, Reply, learn_more
from bot.core.quiz.ports import PlayerStats, RoundStats, TopicStat
from bot.core.quiz.report_texts import CONSOLE_HELP_LINE, report_button
from bot.core.quiz.rounds import Round
from bot.core.quiz.scoring import Award, BoardRow, RankedRow
from bot.core.quiz.tokens import answer_token

PERIOD_NAMES = {"week": "this week", "all": "all time"}
QUESTION_CHANGED = (
    "This question was changed since it was asked (its options differ now), so this round "
    "is closed. Ask a fresh one with /question."
)


def difficulty_name(level: int) -> str:
    return DIFFICULTY_NAMES.get(level, str(level))


def question_reply(question: Question, rnd: Round, topic_title: str) -> Reply:
    header = f"{topic_title} · {difficulty_name(question.difficulty)}"
    blocks: list[Paragraph | Code] = [Paragraph(header), Paragraph(question.prompt, bold=True)]
    if question.code:
        blocks.append(Code(question.code, question.language))
    options = "\n".join(
        f"{LABELS[i]}) {question.choices[index].text}" for i, index in enumerate(rnd.order)
    )
    blocks.append(Paragraph(options))
    choices = tuple(
        Button(label, answer_token(rnd.id, label)) for label in LABELS[: len(rnd.order)]
    )
    return Reply(tuple(blocks), choices=choices)


def points_line(award: Award, repeat_days: int) -> str:
    if not award.correct:
        return "No points this time." + (
            f" Daily streak: {award.daily_streak}." if award.daily_streak else ""
        )
    if award.capped == "repeat":
        return f"No points: you already scored this question in the last {repeat_days} days."
    if award.capped == "daily_cap":
        if award.points:
            return f"+{award.points} points (you reached today's limit for /question and games)."
        return "No points: you reached today's limit for /question and games."
    if award.points == 0:
        return "Practice answers don't count for the leaderboard."
    extras = []
    if award.speed_bonus:
        extras.append(f"+{award.speed_bonus} speed")
    if award.streak_bonus:
        extras.append(f"+{award.streak_bonus} streak")
    detail = f" ({award.base} base, {', '.join(extras)})" if extras else ""
    streak = f" Daily streak: {award.daily_streak}." if award.daily_streak else ""
    return f"+{award.points} points{detail}.{streak}"


def answer_reply(
    question: Question,
    rnd: Round,
    label: str,
    award: Award,
    *,
    repeat_days: int,
    next_button: Button | None = None,
) -> Reply:
    right_label = rnd.correct_label(question)
    right = question.choices[question.correct_index]
    chosen = question.choices[rnd.choice_index(label)]
    verdict = "✅ Right!" if award.correct else f"❌ Not quite: you chose {label}."
    blocks: list[Block] = [
        Paragraph(verdict, bold=True),
        Paragraph(f"Answer: {right_label}) {right.text}"),
        Paragraph(question.explanation),
    ]
    if not award.correct and chosen.why:
        blocks.append(Paragraph(f"Why not {label}: {chosen.why}"))
    points = points_line(award, repeat_days)
    blocks.append(Paragraph(points))
    blocks.extend(learn_more(question.references))
    summary = f"{verdict} Answer: {right_label}. {points}"
    if len(summary) + len(question.explanation) + 1 <= 200:
        summary = f"{verdict} Answer: {right_label}. {question.explanation} {points}"
    report = report_button(rnd.id)
    return Reply(
        tuple(blocks),
        actions=(next_button, report) if next_button else (report,),
        private=True,
        summary=summary[:200],
    )


def already_answered(right_label: str) -> str:
    return f"You have already answered this one. The answer is {right_label}."


def no_such_question(question_id: str) -> str:
    return f"There is no question '{question_id[:48]}'. Try /question."


def leaderboard_word_unknown(word: str) -> str:
    return f"I don't understand '{word[:20]}'. Use /leaderboard [week|all] [global]."


def topics_reply(topics: Sequence[TopicInfo]) -> Reply:
    total = sum(t.count for t in topics)
    lines = [
        f"{t.slug} — {t.title}: {t.count} "
        f"({t.by_difficulty[0]} junior, {t.by_difficulty[1]} mid, {t.by_difficulty[2]} senior)"
        for t in topics
    ]
    return Reply(
        (
            Paragraph(f"{len(topics)} topics, {total} questions", bold=True),
            Paragraph("\n".join(lines) or "No topics yet."),
            Paragraph("Ask one with /question <topic> [junior|mid|senior]."),
        )
    )


def leaderboard_reply(
    rows: Sequence[RankedRow],
    own: tuple[int, BoardRow] | None,
    *,
    period: str,
    place: str,
    asker_id: int,
) -> Reply:
    title = f"🏆 Leaderboard — {place}, {PERIOD_NAMES.get(period, period)}"
    if not rows:
        body = "Nobody has scored here yet. Be the first: /question"
    else:
        body = "\n".join(
            f"{r.rank}. {shown_name(r.row.name)} — {r.row.points} pts "
            f"({r.row.correct}/{r.row.answered} right)"
            for r in rows
        )
    blocks = [Paragraph(title, bold=True), Paragraph(body)]
    if own is None:
        blocks.append(Paragraph("You have no points on this board yet."))
    elif not any(r.row.player_id == asker_id for r in rows):
        rank, row = own
        blocks.append(Paragraph(f"You: #{rank} with {row.points} pts"))
    return Reply(tuple(blocks))


def score_reply(
    name: str,
    stats: PlayerStats,
    topics: Sequence[TopicStat],
    titles: dict[str, str],
    week_points: int,
    today: date,
) -> Reply:
    accuracy = f"{100 * stats.correct / stats.answered:.0f}%" if stats.answered else "—"
    alive = stats.last_daily_day is not None and (today - stats.last_daily_day).days <= 1
    streak = stats.daily_streak if alive else 0
    lines = [
        f"Points: {stats.points} all time, {week_points} this week",
        f"Answered: {stats.answered}, right: {stats.correct} ({accuracy})",
        f"Daily streak: {streak} (best {stats.best_streak})",
    ]
    blocks = [Paragraph(f"📊 {shown_name(name)}", bold=True), Paragraph("\n".join(lines))]
    if topics:
        ordered = sorted(topics, key=lambda t: (-t.answered, t.topic))
        per_topic = "\n".join(
            f"{titles.get(t.topic, t.topic)}: {t.correct}/{t.answered} "
            f"({100 * t.correct / t.answered:.0f}%)"
            for t in ordered
            if t.answered
        )
        blocks += [Paragraph("By topic", bold=True), Paragraph(per_topic)]
    else:
        blocks.append(Paragraph("No answers yet. Try /question."))
    return Reply(tuple(blocks), private=True)


def reveal_reply(question: Question, rnd: Round, stats: RoundStats) -> Reply:
    right = question.choices[question.correct_index]
    pct = f"{100 * stats.correct / stats.answered:.0f}%" if stats.answered else "—"
    blocks: list[Block] = [
        Paragraph(f"Answer: {rnd.correct_label(question)}) {right.text}", bold=True),
        Paragraph(question.explanation),
        Paragraph(f"{stats.answered} answered, {pct} right."),
    ]
    if stats.fastest:
        fastest = ", ".join(f"{shown_name(s.name)} ({s.seconds:.0f}s)" for s in stats.fastest)
        blocks.append(Paragraph(f"Fastest: {fastest}"))
    blocks.extend(learn_more(question.references))
    return Reply(tuple(blocks), actions=(report_button(rnd.id),))


def help_reply(platform: Platform, more: Sequence[str] = ()) -> Reply:
    """/help: the quiz's commands, then `more` (lines of other features, e.g. practice)."""
    lines = [
        "/question [topic] [junior|mid|senior] — a multiple-choice interview question",
        "/topics — the topics and how many questions each has",
        "/score — your points, accuracy, streak and per-topic results",
        "/leaderboard [week|all] [global] — the top 10 here (or everywhere)",
        *more,
        "/help — this message",
    ]
    if platform is Platform.CONSOLE:
        lines.append("A, B, C or D — answer the open question")
        lines.append(CONSOLE_HELP_LINE)
        lines.append("/quit — leave (your score is saved)")
    return Reply(
        (
            Paragraph("Stackprep — practice for Full Stack Python Developer interviews", bold=True),
            Paragraph("\n".join(lines)),
            Paragraph(
                "Each person answers each question once; points go to the first answer. "
                "Self-served questions score once per question per week, up to a daily limit."
            ),
        )
    )


def welcome_reply(platform: Platform, more: Sequence[str] = ()) -> Reply:
    intro = Paragraph(
        "Hi! I ask interview questions for Full Stack Python Developer roles: Python, Django, "
        "Flask, FastAPI, REST, SQL, asyncio, security, Docker and more. Every answer comes with "
        "the reason it is right."
    )
    return Reply((intro, *help_reply(platform, more).blocks[1:]))


# -- chat platform command menus and command errors -------------------------------------------

COMMAND_DESCRIPTIONS = {
    "start": "Welcome and how to play",
    "help": "All commands",
    "question": "A question: /question [topic] [junior|mid|senior]",
    "topics": "Topics and how many questions each has",
    "score": "Your points, accuracy and streak",
    "leaderboard": "Top 10: /leaderboard [week|all] [global]",
}


def group_admins_only(command: str) -> str:
    return f"Only the admins of a group can use /{command[:32]}, and only in that group."


# -- slash-command options (Discord menus) ----------------------------------------------------

OPTION_DESCRIPTIONS = {
    "topic": "Topic to ask about (start typing to search)",
    "difficulty": "junior, mid or senior (default: any)",
    "period": "This week (default) or all time",
    "scope": "This server (default) or everywhere",
}
SCOPE_NAMES = {"here": "this server", "global": "everywhere"}
