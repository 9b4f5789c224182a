"""Property-based checks (hypothesis) of what the Discord adapter reads from Discord: the
bot's permission bits in a channel, and the text typed into the practice answer modal."""

from __future__ import annotations

from typing import Any

import discord
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discord import texts
from bot.adapters.discord.commands import missing_permissions
from bot.adapters.discord.practice import modal_text

BITS = st.integers(min_value=0, max_value=(1 << 53) - 1)  # Discord's permission bitset


@given(bits=BITS, thread=st.booleans())
def test_the_permissions_check_refuses_exactly_when_a_needed_one_is_missing(
    bits: int, thread: bool
) -> None:
    allowed = discord.Permissions(bits)
    missing = missing_permissions(allowed, thread=thread)
    post = "send_messages_in_threads" if thread else "send_messages"
    assert missing == [f for f in ("view_channel", post) if not getattr(allowed, f)]
    if missing:
        message = texts.cannot_post_daily(missing, thread=thread)
        assert "\n" not in message
        assert all(texts.PERMISSION_NAMES[f] in message for f in missing)
        assert ("this thread" in message) is thread


@st.composite
def modal_components(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    """A submitted modal's components as Discord sends them (action rows holding text
    inputs, or the newer labels holding one), and the first non-empty value typed."""
    values = draw(st.lists(st.text(max_size=50), min_size=1, max_size=4))
    components: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        field = {"type": 4, "custom_id": f"field{i}", "value": value}
        labelled = draw(st.booleans())
        components.append(
            {"type": 18, "component": field} if labelled else {"type": 1, "components": [field]}
        )
    return components, next((v for v in values if v), "")


@given(modal_components())
def test_the_modal_answer_is_the_text_typed_whatever_it_is(
    case: tuple[list[dict[str, Any]], str],
) -> None:
    components, typed = case
    assert modal_text(components) == typed
