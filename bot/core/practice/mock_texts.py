"""The wording of mock interviews (`/mock`, bot/core/practice/mock.py): plain-text Replies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.core.common.replies import Paragraph, Reply
from bot.core.practice.readiness import TopicReadiness

DM_ONLY = "Mock interviews are private: send me /mock in a direct message."


def intro(total: int, duration: timedelta, deadline: datetime, titles: Sequence[str]) -> Reply:
    minutes = round(duration.total_seconds() / 60)
    about = ", ".join(titles[:5]) + (f" and {len(titles) - 5} more" if len(titles) > 5 else "")
    text = (
        f"Mock interview: {total} questions on {about}, multiple choice and answers in your "
        f"own words. You have {minutes} minutes (until {deadline:%H:%M} UTC); answers after "
        "that are not counted. Open answers are graded without a rating step; the readiness "
        "report per topic comes at the end. /stop ends it early."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])


def noted(answered: int, total: int) -> Reply:
    text = f"Answer noted ({answered} of {total}); its grade is in the report at the end."
    return Reply((Paragraph(text),), private=True, summary=text)


def _verdict(row: TopicReadiness, title: str) -> str:
    if row.ready:
        return "ready"
    if row.weakest:
        return f"review {title}: " + "; ".join(row.weakest)
    return f"review {title}"


def report(rows: Sequence[TopicReadiness], titles: Mapping[str, str], *, timed_out: bool) -> Reply:
    head = "⏱ Time is up: answers from now on are not counted." if timed_out else ""
    blocks = [Paragraph(head)] if head else []
    blocks.append(Paragraph("Mock interview report", bold=True))
    for row in rows:
        title = titles.get(row.topic, row.topic)
        line = f"{title}: {row.right}/{row.asked} right"
        if row.answered < row.asked:
            line += f" ({row.asked - row.answered} unanswered)"
        if row.mean_grade is not None:
            line += f"; open answers {round(row.mean_grade * 100)}% on average"
        blocks.append(Paragraph(f"{line}. Verdict: {_verdict(row, title)}."))
    ready = sum(r.ready for r in rows)
    blocks.append(
        Paragraph(
            f"Ready in {ready} of {len(rows)} topic{'s' * (len(rows) != 1)}. /practice weak "
            "drills your weakest topics; /mock starts another mock interview."
        )
    )
    summary = f"Mock interview: ready in {ready} of {len(rows)} topics."
    return Reply(tuple(blocks), private=True, summary=summary)


def offer(days_left: int) -> Reply:
    when = "tomorrow" if days_left == 1 else f"in {days_left} days"
    text = (
        f"🎯 Your interview is {when}: try /mock, a timed mock interview (10 questions in 30 "
        "minutes, multiple choice and in your own words) that ends with a readiness report "
        "per topic."
    )
    return Reply((Paragraph(text),), private=True, summary=text[:200])
