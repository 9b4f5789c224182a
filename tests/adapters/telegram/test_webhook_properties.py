"""Properties of what the webhook reads from anyone who can reach it: the secret header and the
body (bot/adapters/telegram/webhook.py). Whatever comes, the answer is a verdict, never an
exception, and never in words that quote what came."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.adapters.telegram.adapter import build_application
from bot.adapters.telegram.receiving import lane_of, read_update
from bot.adapters.telegram.webhook import BadUpdate, SecretCheck, parse_update
from bot.core.common.secret import Secret
from tests.fakes.telegram_api import TOKEN, FakeBotApi, command, poll_answer, press

APP = build_application(TOKEN, request=FakeBotApi(), get_updates_request=FakeBotApi())
BOT = APP.bot
SECRETS = st.text("ABCXYZabcxyz0189_-", min_size=1, max_size=256)


@settings(max_examples=500, deadline=None)
@given(secret=SECRETS, sent=st.lists(st.text(max_size=300), max_size=3))
@example(secret="abc", sent=["ABC"])
@example(secret="abc", sent=["abc", "abc"])
@example(secret="abc", sent=["abc\udcff"])
def test_the_secret_header_passes_only_as_the_secret_itself_once(
    secret: str, sent: list[str]
) -> None:
    problem = SecretCheck(Secret(secret)).problem(sent)
    assert (problem is None) == (sent == [secret])
    if problem is not None:
        assert problem in {"no secret token", "more than one secret token", "a wrong secret token"}


@settings(max_examples=200, deadline=None)
@given(secret=SECRETS, extra=st.text(min_size=1, max_size=5))
def test_the_secret_with_anything_added_or_cut_is_refused(secret: str, extra: str) -> None:
    check = SecretCheck(Secret(secret))
    assert check.problem([secret]) is None
    assert check.problem([secret + extra]) is not None
    assert check.problem([extra + secret]) is not None
    assert check.problem([secret[:-1]]) is not None
    assert repr(check) == "SecretCheck()"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
UPDATE_LIKE = st.fixed_dictionaries(
    {"update_id": st.integers(-(2**64), 2**64) | JSON},
    optional={
        "message": JSON,
        "callback_query": JSON,
        "poll_answer": JSON,
        "edited_message": JSON,
    },
)
REAL = st.sampled_from(
    [
        command("/question beta junior"),
        press("a1.5.B"),
        poll_answer("p-1", 0),
        command("/score", chat_id=42, user_id=42, first_name="Zoë \u202e\x00"),
    ]
)


def bodies() -> st.SearchStrategy[bytes]:
    as_json = (UPDATE_LIKE | JSON | REAL).map(lambda v: json.dumps(v).encode())
    return as_json | st.binary(max_size=200) | as_json.map(lambda b: b[: len(b) // 2])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies())
@example(body=b'{"update_id": 1, "message": {"message_id": 1}}')
@example(body=b'{"update_id": 9223372036854775808}')
@example(body=b'{"update_id": 1e3}')
@example(body=b'{"update_id": Infinity}')
@example(body=b'"\\ud800"')
@example(body=b"[" * 50_000)
def test_any_body_is_an_update_to_store_or_a_400_reason_never_an_error(body: bytes) -> None:
    try:
        entry = parse_update(body, BOT)
    except BadUpdate as exc:
        reason = str(exc)
        assert reason.startswith(("the body", "update "))
        assert len(reason) < 80 and reason.isprintable()
        return
    assert entry.payload.isascii()  # stored as the encoder writes it
    data: Any = json.loads(body)
    assert json.loads(entry.payload) == data and entry.update_id == data["update_id"]
    update = read_update(entry, APP)  # what the lanes will read back
    assert update is not None and update.update_id == entry.update_id
    lane_of(update)


def test_a_real_update_reads_back_as_it_came() -> None:
    payload = command("/question beta junior")
    entry = parse_update(json.dumps(payload).encode(), BOT)
    assert (entry.update_id, json.loads(entry.payload)) == (payload["update_id"], payload)
