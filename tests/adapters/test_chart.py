"""The /progress chart: real matplotlib (Agg) output, worded by the core."""

from __future__ import annotations

import struct

from bot.adapters.chart import chart_png
from bot.core.practice.ports import TopicProgress
from bot.core.practice.texts import progress_chart

ROWS = [
    TopicProgress("asyncio", reviews=10, recalled=7, cards=5, learned=2),
    TopicProgress("sql", reviews=4, recalled=1, cards=3, learned=0),
    TopicProgress("docker", reviews=0, recalled=0, cards=1, learned=0),  # no answers: no bar
]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_spec_is_sorted_weakest_first_and_worded() -> None:
    spec = progress_chart(ROWS, {"asyncio": "Concurrency and asyncio"})
    assert spec is not None
    assert [bar[:2] for bar in spec.bars] == [("sql", 25.0), ("Concurrency and asyncio", 70.0)]
    assert spec.bars[1][2] == "70% · 2/5 learned"
    assert progress_chart([ROWS[2]], {}) is None


async def test_chart_is_a_png_that_grows_with_the_topics() -> None:
    spec = progress_chart(ROWS, {})
    assert spec is not None
    small = png_size(await chart_png(spec))
    many = [TopicProgress(f"t{i}", 4, i % 5, 2, 1) for i in range(12)]
    big_spec = progress_chart(many, {})
    assert big_spec is not None
    big = png_size(await chart_png(big_spec))
    assert small[0] == big[0] == 800
    assert big[1] > small[1] > 100
