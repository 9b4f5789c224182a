"""All wording of private practice, as pure functions returning Reply values (plain text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.bank.questions import DIFFICULTY_NAMES, Question
from bot.core.common.replies import Block, Button, Code, Paragraph, Reply, learn_more
from bot.core.common.texts import TZ_LIST_URL
from bot.core.practice.grading import Gate, Grade, PointResult, Suggestion
from bot.core.practice.ports import DueSummary, Session, TopicProgress

RATING_LABELS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
SUGGESTED_MARK = "★"
OWN_WORDS_BUTTON = "Answer in my own words"
ANSWER_MODAL_TITLE = "Your answer"  # Discord modal title (<= 45 characters)
ANSWER_FIELD_LABEL = "In your own words"  # Discord text input label (<= 45 characters)
ANSWER_PLACEHOLDER = "Two or three sentences: what happens, and why."
ANSWER_PROMPT = "Type your answer in your own words (a few sentences)."  # console, ForceReply
RATING_PROMPT = "Rate your recall: 1 Again, 2 Hard, 3 Good, 4 Easy."  # console
CHART_FILENAME = "stackprep-progress.png"
EXPORT_STEM = "stackprep-hardest"  # .apkg and .txt
MIN_REVIEWS_FOR_WEAKEST = 2

DM_ONLY = "Practice is private: send me /practice in a direct message."
REMIND_DM_ONLY = "Reminders are private: send me /remind in a direct message."
NO_SESSION = "No practice session is running. Start one with /practice [topic]."
NOT_THIS_STEP = "That button belongs to an earlier step of your practice session."
WANT_CHOICE = "This one is multiple choice: pick one of the options."
WANT_RATING = "First rate how well you recalled the last answer (Again, Hard, Good or Easy)."
WANT_TEXT = "This question wants an answer in your own words."
EXPORT_UNAVAILABLE = "Export is not available in this setup."
NOTHING_TO_EXPORT = "You have no practice cards yet. Answer a few questions with /practice first."
REMIND_USAGE = (
    "Use /remind HH:MM [timezone], e.g. /remind 08:30 Europe/Berlin, or /remind off. "
    "Timezones are IANA names such as UTC, Europe/Berlin or America/New_York; "
    f"find yours at {TZ_LIST_URL}"
)

GATE_FEEDBACK = {
    Gate.TOO_SHORT: "That is too short to grade. Explain it in two or three sentences.",
    Gate.ECHO: "That mostly repeats the question. Say what happens and why, in your own words.",
    Gate.COPY: "That looks copied from the model answer. Recalling it yourself is what makes it "
    "stick, so try that next time.",
    Gate.KEYWORDS: "That is a list of keywords. In an interview you would explain how they "
    "connect, so answer in sentences.",
}

COMMAND_DESCRIPTIONS = {
    "practice": "Private practice: /practice [topic], or /practice weak",
    "stop": "End the practice session",
    "due": "Cards due for review",
    "progress": "Your progress per topic, with a chart",
    "export": "Your hardest questions as an Anki file",
    "remind": "Daily reminder: /remind HH:MM [timezone] or /remind off",
    "plan": "Interview date plan: /plan YYYY-MM-DD [topics], or /plan off",
    "mock": "A timed mock interview: 10 questions in 30 minutes, then a report",
}
OPTION_DESCRIPTIONS = {
    "topic": "Practise one topic, or weak for your weakest (default: all topics)",
    "time": "HH:MM in 24-hour time, or off",
    "timezone": "IANA timezone such as Europe/Berlin (default: UTC)",
}
HELP_LINES = (
    "/practice [topic] — a private session: multiple choice and answers in your own words",
    "/stop — end the practice session",
    "/due — how many cards are due for review, and when the next one is",
    "/progress — accuracy and learned cards per topic, with a chart",
    "/export — your hardest questions as a file Anki can import",
    "/remind HH:MM [timezone] — a private reminder when cards are due (/remind off)",
    "/practice weak — a drill of your weakest topics (lowest share right, most lapses)",
    "/plan YYYY-MM-DD [topics] — prepare for an interview: cards a day and a countdown (/plan off)",
    "/mock — a timed mock interview: 10 mixed questions in 30 minutes, then a report per topic",
)


def format_interval(delta: timedelta) -> str:
    """Compact: 1 min, 10 min, 5 h, 3 d, 2 mo, 1.5 y."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)} h"
    days = hours / 24
    if days < 31:
        return f"{round(days)} d"
    if days < 365:
        return f"{round(days / 30.4)} mo"
    return f"{days / 365:.1f} y".replace(".0 y", " y")


def _when(moment: datetime, now: datetime) -> str:
    return f"in {format_interval(moment - now)} ({moment:%Y-%m-%d %H:%M} UTC)"


def _header(position: int, total: int, kind: str) -> Paragraph:
    return Paragraph(f"Practice {position + 1}/{total} · {kind}")


def session_intro(total: int, due: int, topic_title: str | None) -> Paragraph:
    new = total - due
    parts = [f"{due} due for review"] if due else []
    if new:
        parts.append(f"{new} new")
    about = f" on {topic_title}" if topic_title else ""
    return Paragraph(
        f"Practice session{about}: {total} question{'s' * (total != 1)} ({', '.join(parts)}). "
        "Multiple choice and answers in your own words take turns; nothing here counts for "
        "the leaderboard. /stop ends the session."
    )


def choice_question(asked: Reply, position: int, total: int, tokens: Sequence[str]) -> Reply:
    """A practice multiple-choice question: the usual question with practice button tokens."""
    choices = tuple(Button(b.label, t) for b, t in zip(asked.choices, tokens, strict=True))
    blocks = (_header(position, total, "multiple choice"), *asked.blocks)
    return replace(asked, blocks=blocks, choices=choices, private=True)


def open_question(
    question: Question, topic_title: str, position: int, total: int, own_words_token: str
) -> Reply:
    level = DIFFICULTY_NAMES.get(question.difficulty, str(question.difficulty))
    blocks: list[Block] = [
        _header(position, total, "in your own words"),
        Paragraph(f"{topic_title} · {level}"),
        Paragraph(question.prompt, bold=True),
    ]
    if question.code:
        blocks.append(Code(question.code, question.language))
    blocks.append(Paragraph("Answer in a few sentences, as you would in an interview."))
    return Reply(tuple(blocks), actions=(Button(OWN_WORDS_BUTTON, own_words_token),), private=True)


def answer_prompt_reply() -> Reply:
    return Reply((Paragraph(ANSWER_PROMPT),), private=True, summary=ANSWER_PROMPT)


def parse_rating(text: str) -> int | None:
    """'1'-'4' or a rating name (again, hard, good, easy) -> 1-4; anything else None."""
    word = text.strip().casefold()
    if word in {"1", "2", "3", "4"}:
        return int(word)
    names = {label.casefold(): n for n, label in RATING_LABELS.items()}
    return names.get(word)


def file_written(path: str) -> str:
    return f"Saved to {path}"


def rating_label(rating: int, interval: timedelta, suggested: bool) -> str:
    mark = f"{SUGGESTED_MARK} " if suggested else ""
    return f"{mark}{RATING_LABELS[rating]} · {format_interval(interval)}"


def point_line(point: PointResult, negated: tuple[str, ...]) -> str:
    """✅ a key point covered, ❌ one missed, ⛔ one the answer stated the opposite of."""
    if point.hit:
        return f"✅ {point.point}"
    if point.point in negated:
        return f"⛔ {point.point} (you said the opposite)"
    return f"❌ {point.point}"


def graded_reply(
    question: Question,
    grade: Grade,
    previews: Mapping[int, timedelta],
    rating_tokens: Mapping[int, str],
    note: str | None = None,
) -> Reply:
    """`note`: one line saying why the keyword grader graded instead of the model."""
    suggested = {
        Suggestion.AGAIN: 1, Suggestion.HARD: 2, Suggestion.GOOD: 3, Suggestion.EASY: 4,
    }[grade.suggestion]  # fmt: skip
    blocks: list[Block] = []
    if grade.gate is not None:
        blocks.append(Paragraph(GATE_FEEDBACK[grade.gate], bold=True))
    else:
        total = len(grade.points)
        blocks.append(Paragraph(f"Key points: {grade.hits} of {total} covered", bold=True))
    blocks.append(Paragraph("\n".join(point_line(p, grade.negated) for p in grade.points)))
    if note:
        blocks.append(Paragraph(note))
    blocks.extend(Paragraph(f"⚠️ {feedback}") for feedback in grade.misconceptions)
    blocks.append(Paragraph("Model answer", bold=True))
    blocks.append(Paragraph(question.model_answer))
    blocks.extend(learn_more(question.references))  # the question's first reference
    blocks.append(
        Paragraph(
            f"How well did you recall it? My suggestion: {RATING_LABELS[suggested]} "
            f"({SUGGESTED_MARK}). The time on each button is when you will see it again."
        )
    )
    buttons = tuple(
        Button(rating_label(r, previews[r], r == suggested), rating_tokens[r])
        for r in sorted(RATING_LABELS)
    )
    summary = (
        f"Key points: {grade.hits}/{len(grade.points)}. Suggested: {RATING_LABELS[suggested]}."
    )
    return Reply(tuple(blocks), actions=buttons, private=True, summary=summary)


def scheduled_line(rating: int, interval: timedelta) -> Paragraph:
    return Paragraph(
        f"Rated {RATING_LABELS[rating]}: this question comes back in {format_interval(interval)}."
    )


def _tally(session: Session) -> str:
    done = session.answered
    return f"{done} answered, {session.recalled} recalled"


def done_reply(session: Session) -> Reply:
    return Reply(
        (
            Paragraph("Session complete 🎉", bold=True),
            Paragraph(
                f"{_tally(session)}. /due shows when your next reviews are; /progress shows "
                "how you are doing per topic."
            ),
        ),
        private=True,
    )


def stopped_reply(session: Session) -> Reply:
    text = f"Practice stopped after {session.answered} of {len(session.plan)} questions "
    text += f"({session.recalled} recalled). Your cards are saved; /practice starts a new session."
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def timed_out_text(minutes: int) -> str:
    return (
        f"Your practice session ended after {minutes} minutes without an answer. No problem: "
        "your cards are saved, and /practice starts a new session whenever you are ready."
    )


def timed_out_reply(minutes: int) -> Reply:
    text = timed_out_text(minutes)
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def due_reply(summary: DueSummary, now: datetime) -> Reply:
    if summary.cards == 0:
        text = "You have no practice cards yet. /practice starts your first session."
    elif summary.due_now:
        text = (
            f"{summary.due_now} of your {summary.cards} cards are due now. /practice reviews them."
        )
        if summary.next_due is not None:
            text += f" After that, the next one is due {_when(summary.next_due, now)}."
    elif summary.next_due is not None:
        text = (
            f"Nothing is due right now ({summary.cards} cards). The next one is due "
            f"{_when(summary.next_due, now)}."
        )
    else:
        text = f"Nothing is due right now ({summary.cards} cards)."
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def weakest(rows: Sequence[TopicProgress], limit: int = 3) -> list[TopicProgress]:
    rated = [r for r in rows if r.reviews >= MIN_REVIEWS_FOR_WEAKEST and r.recalled < r.reviews]
    return sorted(rated, key=lambda r: (r.recalled / r.reviews, -r.reviews, r.topic))[:limit]


def progress_reply(rows: Sequence[TopicProgress], titles: Mapping[str, str]) -> Reply:
    if not rows:
        text = "No practice yet. /practice starts a session; multiple-choice answers count too."
        return Reply((Paragraph(text),), private=True)
    cards = sum(r.cards for r in rows)
    learned = sum(r.learned for r in rows)
    reviews = sum(r.reviews for r in rows)
    recalled = sum(r.recalled for r in rows)
    lines = [
        f"{titles.get(r.topic, r.topic)}: {_pct(r.recalled, r.reviews)} right "
        f"({r.recalled}/{r.reviews}), {r.learned}/{r.cards} cards learned"
        for r in rows
    ]
    blocks: list[Block] = [
        Paragraph("📈 Your progress", bold=True),
        Paragraph(
            f"{reviews} answers, {_pct(recalled, reviews)} right; {learned} of {cards} cards "
            "learned (a card is learned once it has left the short learning steps)."
        ),
        Paragraph("\n".join(lines)),
    ]
    weak = weakest(rows)
    if weak:
        names = ", ".join(
            f"{titles.get(r.topic, r.topic)} ({_pct(r.recalled, r.reviews)})" for r in weak
        )
        blocks.append(Paragraph(f"Weakest: {names}. Try /practice {weak[0].topic}."))
    return Reply(tuple(blocks), private=True)


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """A horizontal bar chart, fully worded: the chart module only draws it."""

    title: str
    axis_label: str
    bars: tuple[tuple[str, float, str], ...]  # (label, percent 0-100, note at the bar's end)
    alt_text: str


def progress_chart(rows: Sequence[TopicProgress], titles: Mapping[str, str]) -> ChartSpec | None:
    rated = [r for r in rows if r.reviews]
    if not rated:
        return None
    bars = tuple(
        (
            titles.get(r.topic, r.topic),
            100 * r.recalled / r.reviews,
            f"{100 * r.recalled / r.reviews:.0f}% · {r.learned}/{r.cards} learned",
        )
        for r in sorted(rated, key=lambda r: (r.recalled / r.reviews, r.topic))
    )
    return ChartSpec(
        "Stackprep: right answers per topic",
        "% right (multiple choice and rated open answers)",
        bars,
        "Bar chart of the share of right answers per topic",
    )


def export_reply(count: int) -> Reply:
    text = (
        f"Your {count} hardest question{'s' * (count != 1)}, ready for Anki: open "
        f"{EXPORT_STEM}.apkg (a tap on a phone, File → Import on a computer); each question "
        "becomes a note in a Stackprep::<topic> deck, and importing a newer export updates them. "
        f"{EXPORT_STEM}.txt holds the same notes as a plain-text import file."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def reminder_set_reply(time: str, timezone: str) -> Reply:
    text = (
        f"I will remind you at {time} ({timezone}) on days when cards are due. "
        "/remind off stops it."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def reminder_off_reply(had_one: bool) -> Reply:
    text = "Reminders are off." if had_one else "You had no reminder set."
    return Reply((Paragraph(text),), private=True, summary=text)


def reminder_status_reply(time: str | None, timezone: str | None) -> Reply:
    if time is None:
        text = f"No reminder set. {REMIND_USAGE}"
    else:
        text = f"Your reminder is set for {time} ({timezone}). /remind off stops it."
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def reminder_reply(due_now: int) -> Reply:
    text = (
        f"📚 {due_now} practice card{'s are' if due_now != 1 else ' is'} due for review. "
        "Send /practice when you have a few minutes."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])
