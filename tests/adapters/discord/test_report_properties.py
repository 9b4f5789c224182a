"""Property-based (hypothesis): what the report modal's submission reader takes from Discord.
Any JSON at all gives a mapping of strings, never an exception; a well-formed submission (each
field in a label or an action row) gives back exactly the reason chosen and the note typed."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.reports import NOTE_INPUT, REASON_INPUT, modal_values

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["type", "custom_id", "value", "values", "component", "components", "x"]
            ),
            inner | st.sampled_from([1, 3, 4, 18]),
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(payload=st.lists(JSON, max_size=5))
def test_any_components_give_strings_or_nothing(payload: list[Any]) -> None:
    found = modal_values(payload)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in found.items())


@settings(max_examples=200, deadline=None)
@given(reason=st.text(max_size=30), note=st.text(max_size=600), wrap=st.sampled_from([1, 18]))
def test_a_well_formed_submission_reads_back_exactly(reason: str, note: str, wrap: int) -> None:
    menu = {"type": 3, "custom_id": REASON_INPUT, "values": [reason]}
    text = {"type": 4, "custom_id": NOTE_INPUT, "value": note}
    if wrap == 18:
        components = [{"type": 18, "component": menu}, {"type": 18, "component": text}]
    else:
        components = [{"type": 1, "components": [menu]}, {"type": 1, "components": [text]}]
    assert modal_values(components) == {REASON_INPUT: reason, NOTE_INPUT: note}
