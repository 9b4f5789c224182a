"""The pacer's three lanes (bot/jobs/pacing.py), through a real PacedOutbox over the loopback
outbox with small budgets: urgent sends (a game question's close, its reveal, a hint) go ahead
of everything waiting, soon ones (a game's next question, its final standings) ahead of the
ordinary posts, in the global budget and in a chat's own; ordinary posts keep their order and a
share of the budget however many of the others come; a 429 pauses every lane. The budgets here
are real leaky buckets on the loop's clock: a slot every few milliseconds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from dataclasses import replace

import pytest

from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Paragraph, Reply
from bot.core.delivery import DeliveryFailed, Outbox, soon_lane, urgent_lane
from bot.jobs.pacing import URGENT_RUN, PacedOutbox, PlatformLimits
from tests.fakes.outbox import FakeOutbox, throttled

# one message every 5 ms overall, none in a burst beyond the first; chats never the limit
OVERALL = PlatformLimits(rate=200.0, burst=1, chat_count=1000, chat_period=1.0)
# a chat's budget is the limit: 2 in any 0.05 s (capacity 1, one more every 50 ms)
ONE_CHAT = PlatformLimits(rate=1000.0, burst=10, chat_count=2, chat_period=0.05)


def group(n: int) -> ChatRef:
    return ChatRef(Platform.TELEGRAM, f"-{1000 + n}", f"-{1000 + n}")


def reply() -> Reply:
    return Reply((Paragraph("hi"),))


async def queued(*sends: Awaitable[object]) -> list[asyncio.Task[object]]:
    """Start each send in its own task, in this order: all of them reach their bucket (and
    queue there) in one turn of the loop, before any of the buckets' timers can fire."""
    tasks = [asyncio.ensure_future(send) for send in sends]
    await asyncio.sleep(0)
    return tasks


def order(fake: FakeOutbox) -> list[str]:
    """What went out, in order: each post's nonce (an edit's message reference)."""
    return [s.nonce or "" for s in fake.sent]


async def test_an_urgent_send_goes_ahead_of_the_ordinary_posts_queued_before_it() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL)
    assert urgent_lane(paced) is paced.urgent and urgent_lane(fake) is fake
    assert soon_lane(paced) is paced.soon and soon_lane(fake) is fake
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(30)))
    tasks += await queued(paced.urgent.edit(group(99), "close", reply()))
    await asyncio.gather(*tasks)
    sent = order(fake)
    # o0 took the one free slot at once; 29 posts still waited when the close came
    assert sent.index("close") <= 2
    assert [n for n in sent if n != "close"] == [f"o{n}" for n in range(30)]


async def test_a_chats_close_goes_ahead_of_that_chats_own_queued_posts() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, ONE_CHAT)
    chat = group(1)
    tasks = await queued(*(paced.post(chat, reply(), nonce=f"o{n}") for n in range(6)))
    tasks += await queued(paced.urgent.edit(chat, "close", reply()))
    tasks += await queued(paced.urgent.post(chat, reply(), nonce="reveal"))
    await asyncio.gather(*tasks)
    assert order(fake) == ["o0", "close", "reveal", "o1", "o2", "o3", "o4", "o5"]
    times = [s.at for s in fake.sent]
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(times))  # still paced


async def test_ordinary_posts_keep_their_order_between_urgent_ones() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL)
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(12)))
    await fake.until(3)  # while nine posts still wait, a close comes; and again later
    tasks += await queued(paced.urgent.edit(group(50), "u1", reply()))
    came = [len(fake.sent)]
    await fake.until(6)
    tasks += await queued(paced.urgent.edit(group(51), "u2", reply()))
    came.append(len(fake.sent))
    await asyncio.gather(*tasks)
    sent = order(fake)
    # each close went out at the next slot after it came (or the one after, if a slot was
    # granted already), ahead of every post waiting then; the posts kept their order
    assert sent.index("u1") <= came[0] + 1 and sent.index("u2") <= came[1] + 1
    assert [n for n in sent if n.startswith("o")] == [f"o{n}" for n in range(12)]


async def test_a_steady_stream_of_urgent_sends_leaves_ordinary_posts_their_share() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL, patience=0)  # the share from the first slot on
    urgent = 4 * (URGENT_RUN + 1)
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(4)))
    tasks += await queued(*(paced.urgent.post(group(n), reply(), nonce=f"u{n}")
                            for n in range(urgent)))  # fmt: skip
    await asyncio.gather(*tasks)
    sent = order(fake)
    # o0 went at once; then one ordinary post after every URGENT_RUN urgent sends, in order
    assert [i for i, n in enumerate(sent) if n.startswith("o")] == [
        0, *(k * (URGENT_RUN + 1) for k in (1, 2, 3))
    ]  # fmt: skip
    assert [n for n in sent if n.startswith("o")] == ["o0", "o1", "o2", "o3"]
    assert [n for n in sent if n.startswith("u")] == [f"u{n}" for n in range(urgent)]
    times = [s.at for s in fake.sent]  # both lanes together kept the overall budget
    assert max(sum(1 for u in times if t <= u < t + 0.05 - 1e-4) for t in times) <= 1 + 200 * 0.05


async def test_a_wave_of_urgent_sends_goes_all_ahead_until_an_ordinary_post_ran_out_of_patience(
) -> None:  # fmt: skip
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL)  # PATIENCE: far longer than this wave
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(4)))
    tasks += await queued(*(paced.urgent.post(group(n), reply(), nonce=f"u{n}")
                            for n in range(60)))  # fmt: skip
    await asyncio.gather(*tasks)
    assert order(fake) == ["o0", *(f"u{n}" for n in range(60)), "o1", "o2", "o3"]
    fake = FakeOutbox()
    patient = PacedOutbox(fake, OVERALL, patience=0.1)  # 20 slots' time: then their share
    tasks = await queued(*(patient.post(group(n), reply(), nonce=f"o{n}") for n in range(4)))
    tasks += await queued(*(patient.urgent.post(group(n), reply(), nonce=f"u{n}")
                            for n in range(150)))  # fmt: skip
    await asyncio.gather(*tasks)
    sent = order(fake)
    at = [i for i, n in enumerate(sent) if n.startswith("o")]
    assert at[0] == 0 and at[1] > URGENT_RUN  # o1 was passed over for a while ...
    assert at[3] < len(sent) - 1  # ... but not until the urgent ones ran out
    assert all(b - a == URGENT_RUN + 1 for a, b in itertools.pairwise(at[1:]))  # then its share


async def test_a_429_pauses_every_lane() -> None:
    fake = FakeOutbox()
    fake.fail[group(0).chat_id] = [throttled(0.1)]
    paced = PacedOutbox(fake, OVERALL)
    tasks = await queued(paced.post(group(0), reply(), nonce="refused"))
    tasks += await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(1, 4)))
    tasks += await queued(*(paced.urgent.edit(group(n), f"u{n}", reply()) for n in range(4, 7)))
    tasks += await queued(paced.soon.post(group(8), reply(), nonce="s8"))
    await asyncio.gather(*tasks)
    assert paced.throttled == 1
    (_, refused_at), *after = fake.calls  # the first call was answered with a 429
    assert len(after) == 8 and min(at for _, at in after) >= refused_at + 0.1
    # after the pause the urgent ones still went first, then the soon one; the refused post
    # kept its place among the ordinary ones
    assert order(fake) == ["u4", "u5", "u6", "s8", "refused", "o1", "o2", "o3"]
    # a send that comes during a pause, nobody else waiting and the budget free, waits too
    fake.fail[group(0).chat_id] = [throttled(0.1)]
    tasks = await queued(paced.post(group(0), reply(), nonce="refused again"))
    await asyncio.sleep(0.03)
    refused_at = fake.calls[-1][1]
    await paced.urgent.edit(group(7), "u7", reply())
    assert fake.calls[-1][1] >= refused_at + 0.1
    await asyncio.gather(*tasks)
    assert paced.throttled == 2


async def test_a_send_cancelled_while_it_waits_gives_its_turn_away() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL)
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(5)))
    tasks += await queued(paced.urgent.edit(group(9), "gone", reply()))
    tasks[2].cancel()
    tasks[-1].cancel()
    async with asyncio.timeout(5):
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 2
    assert order(fake) == ["o0", "o1", "o3", "o4"]
    assert await paced.urgent.edit(group(9), "later", reply()) is None  # the lanes still move
    assert order(fake)[-1] == "later"


async def test_a_failure_in_the_urgent_lane_is_raised_as_in_the_ordinary_one() -> None:
    fake = FakeOutbox()
    fake.fail[group(1).chat_id] = [DeliveryFailed("502 Bad Gateway")]
    lane: Outbox = PacedOutbox(fake, OVERALL).urgent
    assert lane.platform is Platform.TELEGRAM
    with pytest.raises(DeliveryFailed, match="502"):
        await lane.post(group(1), reply(), nonce="n")
    assert await lane.post(group(1), reply(), nonce="n") == "m1"


async def test_while_the_platform_is_slow_to_answer_ordinary_posts_wait_in_the_pacer() -> None:
    fake = FakeOutbox()
    fake.gate = asyncio.Event()  # the platform takes each request and does not answer yet
    paced = PacedOutbox(fake, replace(OVERALL, in_flight=2))
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(6)))
    await asyncio.sleep(0.05)  # ten slots' time: the budget is not what holds them
    assert order(fake) == ["o0", "o1"]  # two unanswered: the other four wait here ...
    tasks += await queued(paced.urgent.edit(group(9), "close", reply()))
    async with asyncio.timeout(5):
        await fake.until(3)  # ... where a close passes them
    assert order(fake) == ["o0", "o1", "close"]
    fake.gate.set()
    await asyncio.gather(*tasks)
    assert order(fake) == ["o0", "o1", "close", "o2", "o3", "o4", "o5"]


async def test_a_soon_send_goes_ahead_of_the_ordinary_posts_but_behind_the_urgent_ones() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL)
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(10)))
    tasks += await queued(*(paced.soon.post(group(n), reply(), nonce=f"s{n}") for n in range(3)))
    tasks += await queued(paced.urgent.edit(group(99), "close", reply()))
    await asyncio.gather(*tasks)
    # o0 took the free slot; the close came last and went first, then the soon ones in order
    assert order(fake) == ["o0", "close", "s0", "s1", "s2", *(f"o{n}" for n in range(1, 10))]


async def test_a_chats_next_question_goes_ahead_of_that_chats_queued_posts() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, ONE_CHAT)
    chat = group(1)
    tasks = await queued(*(paced.post(chat, reply(), nonce=f"o{n}") for n in range(4)))
    tasks += await queued(paced.soon.post(chat, reply(), nonce="next"))
    tasks += await queued(paced.urgent.edit(chat, "close", reply()))
    await asyncio.gather(*tasks)
    assert order(fake) == ["o0", "close", "next", "o1", "o2", "o3"]


async def test_ordinary_posts_keep_their_share_of_a_stream_of_soon_and_urgent_sends() -> None:
    fake = FakeOutbox()
    paced = PacedOutbox(fake, OVERALL, patience=0)  # the share from the first slot on
    others = 2 * (URGENT_RUN + 1)
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(3)))
    tasks += await queued(*(
        (paced.soon if n % 2 else paced.urgent).post(group(n), reply(), nonce=f"x{n}")
        for n in range(others)
    ))  # fmt: skip
    await asyncio.gather(*tasks)
    sent = order(fake)
    assert [i for i, n in enumerate(sent) if n.startswith("o")] == [
        0, URGENT_RUN + 1, 2 * (URGENT_RUN + 1)
    ]  # fmt: skip
    # between them, every urgent send went before every soon one waiting with it
    passed = [n for n in sent if n.startswith("x")]
    urgent = [f"x{n}" for n in range(0, others, 2)]
    assert passed[: len(urgent)] == urgent


async def test_a_soon_send_passes_ordinary_posts_held_while_the_platform_is_slow() -> None:
    fake = FakeOutbox()
    fake.gate = asyncio.Event()  # the platform takes each request and does not answer yet
    paced = PacedOutbox(fake, replace(OVERALL, in_flight=2))
    tasks = await queued(*(paced.post(group(n), reply(), nonce=f"o{n}") for n in range(4)))
    await asyncio.sleep(0.05)
    assert order(fake) == ["o0", "o1"]  # two unanswered: the others wait in the pacer ...
    tasks += await queued(paced.soon.post(group(9), reply(), nonce="next"))
    async with asyncio.timeout(5):
        await fake.until(3)  # ... where the next question passes them (no slot needed)
    assert order(fake) == ["o0", "o1", "next"]
    fake.gate.set()
    await asyncio.gather(*tasks)
    assert order(fake) == ["o0", "o1", "next", "o2", "o3"]
