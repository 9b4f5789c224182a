"""Which question a place gets on a date: deterministic, the same for every place with the same
filters, never repeating within a cycle through the pool (so no database state is needed)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import date

from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question
from bot.core.common.errors import EmptyBank
from bot.core.daily import texts


def daily_pool(
    bank: QuestionBank,
    topics: Iterable[str],
    difficulty: int | None,
    held: AbstractSet[str] = frozenset(),
) -> list[Question]:
    """The questions a place's filters allow, without the `held` ones (reported, awaiting an
    operator: bot/core/quiz/reports.py), unless nothing else is left: a place's schedule is
    never stopped by reports."""
    wanted = set(topics)
    pool = [
        q
        for q in bank.questions
        if (not wanted or q.topic in wanted) and (difficulty is None or q.difficulty == difficulty)
    ]
    if not pool:
        raise EmptyBank(texts.NO_QUESTIONS_FOR_FILTERS)
    kept = [q for q in pool if q.id not in held] if held else pool
    return sorted(kept or pool, key=lambda q: q.id)


def _cycle_order(ids: tuple[str, ...], cycle: int) -> list[str]:
    order = list(ids)
    random.Random(f"stackprep-daily:{cycle}:{len(ids)}").shuffle(order)
    return order


def daily_pick(pool: Sequence[Question], day: date) -> Question:
    """The question of `day` for this pool: the same for every place with the same filters.

    Days are numbered by their ordinal; each run of len(pool) days (a cycle) walks a fresh
    deterministic permutation, so no question repeats within a cycle, and the first question of
    a cycle is never the last of the previous one.
    """
    ids = tuple(sorted(q.id for q in pool))
    by_id = {q.id: q for q in pool}
    cycle, position = divmod(day.toordinal(), len(ids))
    order = _cycle_order(ids, cycle)
    if len(ids) > 1 and order[0] == _cycle_order(ids, cycle - 1)[-1]:
        order[0], order[1] = order[1], order[0]
    return by_id[order[position]]
