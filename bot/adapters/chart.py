"""The /progress bar chart as PNG bytes.

matplotlib is imported inside `render_png` only, so the bot starts and idles without it: the
library (and numpy) load the first time somebody asks for a chart. The Agg backend draws
without a display. All wording comes from the core's ChartSpec.
"""

from __future__ import annotations

import asyncio
import io
import threading

from bot.core.practice.texts import ChartSpec

_LOCK = threading.Lock()  # pyplot-free, but font caches are shared: draw one chart at a time


def render_png(spec: ChartSpec, *, dpi: int = 100) -> bytes:
    """Draw `spec` as a horizontal bar chart (0-100%) and return the PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [label for label, _, _ in spec.bars]
    values = [value for _, value, _ in spec.bars]
    height = 1.2 + 0.42 * max(1, len(labels))
    with _LOCK:
        figure = Figure(figsize=(8, height), dpi=dpi, layout="constrained")
        axes = figure.add_subplot()
        bars = axes.barh(labels, values, color="#3b7dd8")
        axes.bar_label(bars, labels=[note for _, _, note in spec.bars], padding=4, fontsize=8)
        axes.set_xlim(0, 125)  # room for the notes at the bars' ends
        axes.set_xticks([0, 25, 50, 75, 100])
        axes.set_xlabel(spec.axis_label)
        axes.set_title(spec.title)
        axes.spines[["top", "right"]].set_visible(False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Title": spec.title})
    return buffer.getvalue()


async def chart_png(spec: ChartSpec) -> bytes:
    """`render_png` in a worker thread: the first call imports matplotlib (about a second)."""
    return await asyncio.to_thread(render_png, spec)
