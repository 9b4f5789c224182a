"""`/quiz` with anything after it, through the real Application and handlers: whatever is
typed, the person gets the announcement of a game with exactly the settings typed, or the
core's own refusal quoting the command; never an apology, never a traceback.

The oracle is the core itself: the same words handed straight to `GameService.start` for a
twin chat, and `parse_game_args`. The shipped bank (many topics and levels) is used, so that
nearly every valid choice has enough questions for a game."""

from __future__ import annotations

import html
import itertools
import logging
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.games import settings_text
from bot.app.bootstrap import App
from bot.core.bank.question_bank import load_bank
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.common.texts import APOLOGY
from bot.core.games import COUNT_RANGE, SECONDS_RANGE, GameSettings, parse_game_args
from bot.core.games import texts as game_texts
from tests.core.properties import attempt, attempt_async
from tests.fakes.app import memory_app
from tests.fakes.paths import REPO
from tests.fakes.telegram_api import TOKEN, FakeBotApi, Harness, command

BANK = load_bank(REPO / "questions")
TOPICS = sorted(t.slug for t in BANK.topics())
THROUGH_TELEGRAM = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_groups = itertools.count(-2_000_000, -2)  # a new group per example (one game per chat) ...
ORACLE = UserRef(Platform.TELEGRAM, "99")  # ... and its twin, id - 1, for the oracle

# any code point (lone surrogates and control characters included), up to a few hundred,
# and text made of the parser's own pieces, which reaches its every branch
ANY_ARGS = st.text(st.characters(codec=None, categories=None), max_size=400) | st.lists(
    st.sampled_from(
        ["5", "45s", "120", "3", "0", "hints", "hints:on", "hint=off", "count:", ":", "=",
         "mid", "senior", "level:4", "asyncio", "django", "auth", "topic:", "t:zz",
         "seconds:9", "timer=60", "n=21", "stop", "status", "STOP", "x" * 40, "\u00a0", "\t",
         "ß"]
    ),
    max_size=12,
).map(" ".join)  # fmt: skip
COMMAND = st.sampled_from(["/quiz", "/quiz@stackprep_bot"])


@pytest.fixture
async def tg() -> AsyncIterator[tuple[Harness, App]]:
    app = memory_app(BANK)
    api = FakeBotApi()
    application = build_application(TOKEN, request=api, get_updates_request=api)
    adapter = TelegramAdapter(app.quiz, application, games=app.games)
    async with application:
        yield Harness(adapter, api, app.quiz), app


def group(chat_id: int) -> ChatRef:
    return ChatRef(Platform.TELEGRAM, str(chat_id), str(chat_id))


async def said(tg: Harness, text: str, chat_id: int) -> tuple[str, dict[str, object]]:
    tg.api.clear()
    await tg.send(command(text, chat_id=chat_id, message_id=77))
    [call] = tg.api.sent()
    assert call.params["chat_id"] == chat_id
    return str(call.params["text"]), call.params


async def core_says(app: App, chat_id: int, words: str | GameSettings) -> Reply | QuizError:
    """What the core answers to the same settings in the twin chat of `chat_id`."""
    return await attempt_async(app.games.start(ORACLE, "Oracle", group(chat_id - 1), words))


@THROUGH_TELEGRAM
@given(args=ANY_ARGS, name=COMMAND)
async def test_anything_after_quiz_starts_the_game_typed_or_is_refused_in_the_cores_words(
    tg: tuple[Harness, App], caplog: pytest.LogCaptureFixture, args: str, name: str
) -> None:
    harness, app = tg
    chat_id = next(_groups)
    words = args.split()  # as PTB hands a command's words to the handler
    text, params = await said(harness, f"{name} {args}", chat_id)
    assert text != APOLOGY and "Traceback" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    game = await app.games.store.running_in(group(chat_id).key)
    first = words[0].casefold() if words else ""
    if first in {"stop", "status"}:  # no game here yet
        assert text.startswith("No game is running here.") and game is None
        return
    parsed = attempt(lambda: parse_game_args(settings_text(words), BANK))
    expected = await core_says(app, chat_id, settings_text(words))
    if isinstance(expected, QuizError):
        assert text == expected.message  # the core's own words, quoting the command
        assert params["reply_parameters"] == {"message_id": 77, "allow_sending_without_reply": True}
        assert game is None
    else:
        assert "started a game" in html.unescape(text) and "reply_parameters" not in params
        assert game is not None and game.settings == parsed


LEVEL_WORDS = {1: ["junior", "easy", "level:1"], 2: ["mid", "medium", "difficulty:mid"],
               3: ["senior", "HARD", "d:3"]}  # fmt: skip


@THROUGH_TELEGRAM
@given(data=st.data(), count=st.integers(*COUNT_RANGE), seconds=st.integers(*SECONDS_RANGE),
       level=st.none() | st.sampled_from([1, 2, 3]), hints=st.booleans(), name=COMMAND,
       spaces=st.sampled_from([" ", "  ", "\t", " \u00a0"]))  # fmt: skip
async def test_every_valid_written_form_starts_a_game_with_exactly_those_settings(
    tg: tuple[Harness, App],
    data: st.DataObject,
    count: int,
    seconds: int,
    level: int | None,
    hints: bool,
    name: str,
    spaces: str,
) -> None:
    harness, app = tg
    topic = data.draw(st.none() | st.sampled_from(TOPICS))
    rest = []
    if topic:
        rest.append(data.draw(st.sampled_from([topic, f"topic:{topic}", topic.upper()])))
    if level:
        rest.append(data.draw(st.sampled_from(LEVEL_WORDS[level])))
    if hints:
        rest.append(data.draw(st.sampled_from(["hints", "hints:on", "hint=yes"])))
    if data.draw(st.booleans()):  # named: in any order
        words = [
            data.draw(st.sampled_from([f"count:{count}", f"n={count}", f"questions:{count}"])),
            data.draw(st.sampled_from([f"{seconds}s", f"seconds:{seconds}", f"timer={seconds}"])),
            *rest,
        ]
        ordered = data.draw(st.permutations(words))
    else:  # bare numbers: the first is the count, the second the seconds
        ordered = data.draw(st.permutations([*rest, "", ""]))
        first, second = (i for i, w in enumerate(ordered) if w == "")
        ordered[first] = str(count)
        ordered[second] = data.draw(st.sampled_from([str(seconds), f"{seconds}s"]))
    chat_id = next(_groups)
    wanted = GameSettings(count, seconds, topic, level, hints)
    text, _ = await said(harness, f"{name} {spaces.join(ordered)}", chat_id)
    game = await app.games.store.running_in(group(chat_id).key)
    expected = await core_says(app, chat_id, wanted)
    if isinstance(expected, QuizError):  # e.g. too few senior questions in that topic
        assert game is None and text == expected.message
        return
    assert game is not None, text
    assert game.settings == wanted
    assert game_texts.SCORING_NOTE in html.unescape(text)
