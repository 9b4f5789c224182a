"""Property-based (hypothesis): what Discord's proposal form and the /daily topics autocomplete
take from a member. Any submitted fields make a proposal or a clear refusal, never another
exception, and a refused one stores nothing; the topics list splits at its last word."""

from __future__ import annotations

import asyncio
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discord.commands import last_word
from bot.adapters.discord.community import FIELDS, proposal_fields
from bot.core.bank.question_bank import load_bank
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from tests.core.properties import (
    ANY_TEXT,
    PROPERTIES,
    THROUGH_SERVICES,
    attempt_async,
    clear_refusal,
)
from tests.fakes.app import memory_app
from tests.fakes.paths import TEST_BANK

BANK = load_bank(TEST_BANK)
GUILD = ChatRef(Platform.DISCORD, "10", "77")
ANN = UserRef(Platform.DISCORD, "5")
# a field as submitted: anything, or text made of what a form holds
FIELD = ANY_TEXT | st.sampled_from(
    ["", " ", "A", "b", "E", "4", "A) 1\nB) 2\nC) 3\nD) 4", "x\ny\nz", "proposals", "@everyone",
     "http://example.org/x", "Why?" * 300]
)  # fmt: skip
VALUES = st.dictionaries(st.sampled_from(FIELDS), FIELD, max_size=len(FIELDS))


@THROUGH_SERVICES
@given(values=VALUES)
def test_any_submitted_form_is_a_proposal_or_a_clear_refusal(values: dict[str, str]) -> None:
    app = memory_app(BANK)
    fields = proposal_fields(values)
    assert -1 <= fields.right < 4
    assert all(o and o == o.strip() for o in fields.options)
    outcome = asyncio.run(attempt_async(app.community.propose(ANN, "Ann", GUILD, fields)))
    pending = asyncio.run(app.community.store.pending_count("discord:77"))
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome) and pending == 0
    else:
        assert isinstance(outcome, Reply) and pending == 1


@PROPERTIES
@given(text=ANY_TEXT)
def test_the_last_word_of_a_topics_list(text: str) -> None:
    head, last = last_word(text)
    assert head + last == text
    assert not re.search(r"[\s,]", last)
    assert head == "" or re.search(r"[\s,]$", head)
