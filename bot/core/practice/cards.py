"""The card writer: every stored multiple-choice answer updates the learner's FSRS card.

Wrong = Again, right = Good. The updates are not queued in memory: they are derived from the
answers the store already holds (`PracticeStore.pending_choices`: the oldest answers past a
watermark, in the order they were stored), and each slice's cards are written together with
the watermark's move (`apply_choices`), in one transaction that does nothing if the slice was
applied already. So a crash loses no update and applies none twice, a backlog of any size
waits in the database, not in memory (at most CARD_BATCH answers are held at a time), and the
answer path only rings a bell.

Measured before (issue 18): an in-memory queue reached 102,006 updates under overload (RSS
51 -> 153 MB, a 60 s final flush) and kill -9 lost 74% of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fsrs import Rating

from bot.core.bank.library import is_community_id
from bot.core.common.errors import StorageUnavailable
from bot.core.practice.ports import ChoiceAnswer, PendingChoices, PracticeStore
from bot.core.practice.srs import CardState, Review, Source, Srs, new_card
from bot.core.quiz import AnswerEvent

log = logging.getLogger(__name__)

CARD_BATCH = 512  # pending answers read (and held in memory) at a time, whatever the backlog
CARD_SLICE = 128  # card updates written per transaction (repeats of one card merge into one row)
# Caps, reached only with a backlog (at 1,000 answers/s a pass holds about 20). A pass is a
# read, a read and its slices' writes, one after another, through a busy loop and the
# writer's background share: about 35 ms whatever its size. At 128/32 a pass applied 3,000-
# 3,900 answers a second, so at 4,000/s the backlog grew by about 1,000 a second for a whole
# minute (bench/foundation.py backlog: 36,000-63,000 after 60 s); at 512/128 it stayed under
# 4,900 in two runs of three (16,000 in the third), 308 against 13,825 after 10 s (issue 17).
CARD_WRITE_LINGER = 0.02  # seconds new answers wait to share a card write
RETRY_PAUSES = (1.0, 60.0)  # after a failed pass: first and longest pause before the next


class CardWriter:
    """Applies stored multiple-choice answers to FSRS cards in the background.

    `noted` is the answer listener's part (it only tells the store, which SQLite needs not,
    and wakes the loop); `flush` waits until every answer stored before it is applied; one
    pass at a time reads a batch, computes its cards and writes them slice by slice.
    """

    def __init__(self, store: PracticeStore, srs: Srs) -> None:
        self._store = store
        self._srs = srs
        self._task: asyncio.Task[None] | None = None
        self._more = False  # answers came in since the loop last looked
        self._now = asyncio.Event()  # cuts the loop's linger or pause (flush, close)
        self._passes = asyncio.Lock()  # one pass at a time: the loop's or a flush's
        self._pause = 0.0  # before the loop's next pass, after failures
        self._closed = False

    async def noted(self, event: AnswerEvent) -> None:
        """A multiple-choice answer was stored: make sure its card update will be applied."""
        await self._store.note_choice(
            event.player_id, event.question_id, event.topic, event.correct, event.at
        )
        self._wake()

    def _wake(self) -> None:
        """Have the loop look for pending answers (starting it if it is not running)."""
        self._more = True
        if not self._closed and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._loop(), name="practice-cards")

    async def flush(self, within: float | None = None) -> None:
        """Wait until the card updates of every answer stored before this call are written.

        Under steady answers it does not chase the ones that come in meanwhile. If a write
        fails it returns (the failure is logged; the updates stay pending and are retried).
        Without `within`, the background loop has finished too when it returns, unless
        answers keep coming (so the database can be closed after it). With `within`, it
        returns after that many seconds at most, and the loop goes on with the backlog.
        """
        if within is None:
            if await self._flush() and self._task is not None and not self._task.done():
                self._now.set()  # cut its linger: it finds nothing left and ends
                await asyncio.shield(self._task)
            return
        try:
            async with asyncio.timeout(within):
                await self._flush()
        except TimeoutError:  # writes already queued still happen: the watermark says which
            log.info("practice cards: a backlog; reading cards before it is applied")
            self._wake()

    async def _flush(self) -> bool:
        """Passes until the watermark reaches the newest answer stored at the first; False if
        one failed."""
        target: int | None = None
        while True:
            ok, through, latest = await self._pass()
            target = latest if target is None else target
            if not ok or through >= target:
                return ok

    async def close(self) -> None:
        """Stop after the pass in progress. Pending updates stay stored: the next start (its
        first answer or flush) applies them."""
        self._closed = True
        self._now.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _loop(self) -> None:
        behind = False  # the last pass left a backlog: go on at once
        while self._more and not self._closed:
            # Linger briefly so a busy minute's answers share a few card writes instead of
            # taking the database writer away from the answers themselves; flush() cuts it.
            # Not while behind: at 4,000 answers/s a 20 ms linger per batch of CARD_BATCH let
            # the backlog grow by about 1,000 a second (issue 17).
            linger = self._pause or (0.0 if behind else CARD_WRITE_LINGER)
            if linger:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), linger)
            self._now.clear()
            self._more = False
            ok, through, latest = await self._pass()
            behind = ok and through < latest
            if not ok or behind:
                self._more = True  # a backlog, or a failed write: again after the pause

    async def _pass(self) -> tuple[bool, int, int]:
        """Apply the next batch of pending answers: (written?, the watermark after it, the
        newest answer stored when it was read)."""
        async with self._passes:
            try:
                pending = await self._store.pending_choices(CARD_BATCH)
                if pending.through != pending.after:
                    await self._apply(pending)
            except Exception as exc:
                self._failed(exc)
                return False, 0, 0
            if self._pause:
                log.info("practice cards: writing again")
            self._pause = 0.0
            return True, pending.through, pending.latest

    def _failed(self, exc: Exception) -> None:
        """Log the first failure of a streak (a traceback only if it is not the database
        being busy or closed), and pause longer after each."""
        first, longest = RETRY_PAUSES
        if not self._pause:
            log.warning(
                "practice cards: applying stored answers to cards failed (%s); they stay "
                "stored and are retried", exc, exc_info=not isinstance(exc, StorageUnavailable),
            )  # fmt: skip
        self._pause = min(self._pause * 2, longest) if self._pause else first

    async def _apply(self, pending: PendingChoices) -> None:
        """Compute and write a batch's cards, CARD_SLICE at a time, each slice with its move
        of the watermark. Every slice starts from the cards the slices before it left; the
        loop gets a turn between slices (FSRS and encoding cost tens of us a card)."""
        answers = pending.answers
        keys = list(dict.fromkeys((a.player_id, a.question_id) for a in answers))
        cards = await self._store.cards(keys)
        writes: list[asyncio.Future[None]] = []
        after = pending.after
        for start in range(0, max(len(answers), 1), CARD_SLICE):
            part = answers[start : start + CARD_SLICE]
            last = start + CARD_SLICE >= len(answers)
            through = pending.through if last else part[-1].seq
            items = [item for a in part if (item := self._review(cards, a)) is not None]
            writes.append(asyncio.ensure_future(self._store.apply_choices(after, through, items)))
            after = through
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:  # e.g. flush(within=...) ran out: no write unseen
                await asyncio.gather(*writes, return_exceptions=True)
                raise
        # every slice's write is waited for; after a failed one the later ones wrote nothing
        # (the watermark did not move), so the next pass starts again from the failed one
        for result in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result

    def _review(
        self, cards: dict[tuple[int, str], CardState], a: ChoiceAnswer
    ) -> tuple[CardState, Review] | None:
        if is_community_id(a.question_id):
            return None  # a community's own question: practice never asks those, so no card
        key = (a.player_id, a.question_id)
        card = cards.get(key) or new_card(a.player_id, a.question_id, a.topic, a.at)
        rating = Rating.Good if a.correct else Rating.Again
        try:
            cards[key] = updated = self._srs.review(card, rating, a.at)
        except Exception:  # a bug for this one card: skip it rather than stall every card
            log.exception("practice cards: answer %d could not update its card", a.seq)
            return None
        return updated, Review(
            a.player_id, a.question_id, a.topic, int(rating), Source.CHOICE, a.at
        )
