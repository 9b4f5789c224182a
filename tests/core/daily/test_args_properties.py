"""Property-based: whatever an admin types after `/daily` (`set` with any words, `recap`,
anything else) is understood or refused with a QuizError that says why, never another
exception (memory and a SQLite file)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.core.bank.question_bank import load_bank
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.daily.args import MAX_WINDOW, MIN_WINDOW, SetArgs, parse_set_args, parse_window
from tests.core.properties import (
    ANY_TEXT,
    PROPERTIES,
    THROUGH_SERVICES,
    attempt,
    attempt_async,
    clear_refusal,
    sendable,
)
from tests.fakes.paths import TEST_BANK

BANK = load_bank(TEST_BANK)
# words an admin might really type, so the parser's deeper branches are reached too
LIKELY = st.sampled_from(
    ["09:00", "9:30", "21.15", "7h05", "25:00", "9:", ":30", "12h", "90m", "1h30m", "0m",
     "24h", "99h", "Europe/Berlin", "europe/berlin", "Berlin", "UTC", "Mars/Olympus", "alpha",
     "Beta", "alpha,beta", "junior", "mid", "senior", "3", "expert", "h", "m", "1h2", ","]
)  # fmt: skip
WORDS = st.lists(st.one_of(ANY_TEXT, LIKELY), max_size=6)
CHATS = st.sampled_from(
    [ChatRef(Platform.TELEGRAM, "-1001", "-1001"), ChatRef(Platform.DISCORD, "555", "777"),
     ChatRef(Platform.DISCORD, "42", None), ChatRef(Platform.TELEGRAM, "42", None)]
)  # fmt: skip


@PROPERTIES
@given(st.one_of(ANY_TEXT, st.from_regex(r"[0-9]{0,3}h?[0-9]{0,5}(m|min)?", fullmatch=True)))
def test_an_answer_window_is_parsed_or_refused_clearly(text: str) -> None:
    window = attempt(lambda: parse_window(text))
    if isinstance(window, QuizError):
        assert clear_refusal(window)
        return
    assert isinstance(window, timedelta) and MIN_WINDOW <= window <= MAX_WINDOW


@PROPERTIES
@given(WORDS)
def test_daily_set_arguments_are_parsed_or_refused_clearly(words: list[str]) -> None:
    args = attempt(lambda: parse_set_args(words, BANK))
    if isinstance(args, QuizError):
        assert clear_refusal(args)
        return
    assert isinstance(args, SetArgs)
    assert set(args.topics) <= {t.slug for t in BANK.topics()}
    assert args.difficulty in {None, 1, 2, 3}


@THROUGH_SERVICES
@given(
    chat=CHATS,
    action=st.sampled_from(["set", "off", "status", "recap", "help", "SET"]) | ANY_TEXT,
    words=WORDS,
    is_admin=st.booleans(),
)
@example(  # a lone surrogate from a JSON escape goes; what was typed around it is kept
    chat=ChatRef(Platform.TELEGRAM, "-1001", "-1001"),
    action="set\ud800",
    words=["09:30", "Europe/\udfffBerlin", "\ud800", "alpha\ud800"],
    is_admin=True,
)
def test_any_daily_command_replies_or_refuses_clearly(
    runner: asyncio.Runner,
    module_app: App,
    chat: ChatRef,
    action: str,
    words: list[str],
    is_admin: bool,
) -> None:
    daily = module_app.daily
    outcome = runner.run(attempt_async(daily.command(chat, [action, *words], is_admin=is_admin)))
    assert sendable(outcome)  # no lone surrogate typed is echoed: no platform could send it
    if action == "set\ud800":
        assert isinstance(outcome, Reply), outcome
        sub = runner.run(daily.store.subscription_for(chat))
        assert sub is not None and (sub.timezone, sub.topics) == ("Europe/Berlin", ("alpha",))
    if isinstance(outcome, QuizError):
        assert clear_refusal(outcome)
    else:
        assert isinstance(outcome, Reply) and outcome.plain_text().strip()
