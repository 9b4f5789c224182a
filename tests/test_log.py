"""The log as an operator reads it: text or JSON lines on stderr, with the ids of the update or
interaction in context, and no secret in any form, whatever the format."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.bootstrap import App
from bot.cli.entry import main
from bot.core.bank.question_bank import QuestionBank
from bot.log import MASK, Redactor, current_context, log_context, logged_as, setup_logging
from tests.fakes.clock import FixedClock

TOKEN = "123456:SecretSecret-tok_en"
PASSWORD = "p@ss w+rd/é"
DATABASE_URL = f"postgresql://stackprep:{quote(PASSWORD, safe='')}@db:5432/stackprep"
log = logging.getLogger("stackprep.test")


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(capsys)]


# How a token shows up in the wild: as is, in the case Telegram's error descriptions use, in
# a lower-cased echoed path, percent-encoded (quote, quote_plus, lower-case hex), in part.
LEAKS = {
    "exact": f"https://api.telegram.org/bot{TOKEN}/getMe",
    "capitalised": f"Bot{TOKEN.upper()}: Unauthorized",
    "lower-cased path": f"/bot{TOKEN.lower()}/getme",
    "quote": f"/bot{quote(TOKEN, safe='')}/getMe",
    "quote_plus": f"token={quote_plus(TOKEN)}",
    "lower-case hex": f"/bot{quote(TOKEN, safe='').lower()}/getMe",
    "encoded in part": f"/bot{TOKEN.replace(':', '%3a').replace('-', '%2D')}/getMe",
}


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("leak", list(LEAKS.values()), ids=list(LEAKS))
def test_a_token_is_masked_in_every_form_in_messages_args_and_tracebacks(
    capsys: pytest.CaptureFixture[str], fmt: str, leak: str
) -> None:
    setup_logging("INFO", [TOKEN], fmt)
    log.warning(f"in the message: {leak}")
    log.warning("in the arguments: %s", leak)
    try:
        try:
            raise OSError(f"connect failed: {leak}")
        except OSError as inner:
            raise RuntimeError(f"while calling {leak}") from inner
    except RuntimeError:
        log.exception("in the traceback")
    output = capsys.readouterr().err
    if fmt == "json":
        assert all(json.loads(line) for line in output.splitlines())  # one object per line
    for needle in {TOKEN, "SecretSecret", "secretsecret", "SECRETSECRET", "tok_en", "TOK_EN"}:
        assert needle not in output
    assert output.count(MASK) >= 4  # message, arguments, and both exceptions of the chain


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_database_urls_password_is_masked_alone_and_encoded(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    setup_logging("INFO", [DATABASE_URL], fmt)
    log.error("connecting to %s", DATABASE_URL)
    log.error('password authentication failed for user "stackprep" (password %s)', PASSWORD)
    log.error("dsn password=%s", quote_plus(PASSWORD))
    output = capsys.readouterr().err
    assert PASSWORD not in output and quote(PASSWORD, safe="") not in output
    assert quote_plus(PASSWORD) not in output and "w+rd" not in output
    assert output.count(MASK) == 3


def test_json_lines_carry_time_level_logger_message_and_the_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("INFO", [TOKEN], "json")
    with logged_as(platform="telegram", chat_id=-1001, user_id=7, update_id=4242):
        log.info("answered in %d ms", 12)
        try:
            raise ValueError("two\nlines")
        except ValueError:
            log.exception("failed")
    log.info("outside")
    answered, failed, outside = records(capsys)
    assert list(answered)[:4] == ["time", "level", "logger", "message"]
    assert answered["time"].endswith("+00:00") and answered["time"][10] == "T"
    assert {k: v for k, v in answered.items() if k != "time"} == {
        "level": "INFO", "logger": "stackprep.test", "message": "answered in 12 ms",
        "platform": "telegram", "chat_id": -1001, "user_id": 7, "update_id": 4242,
    }  # fmt: skip
    assert failed["level"] == "ERROR" and failed["update_id"] == 4242
    assert failed["exc_info"].startswith("Traceback") and "two\nlines" in failed["exc_info"]
    assert "update_id" not in outside and "platform" not in outside


def test_text_lines_show_the_context_before_any_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("INFO", [], "text")
    with logged_as(platform="discord", guild_id=1, channel_id=2, user_id=3, interaction_id=4):
        try:
            raise KeyError("x")
        except KeyError:
            log.exception("command /score failed")
    first, *rest = lines(capsys)
    assert first.endswith(
        " ERROR stackprep.test: command /score failed "
        "[platform=discord guild_id=1 channel_id=2 user_id=3 interaction_id=4]"
    )
    assert rest[0] == "Traceback (most recent call last):"


async def test_each_task_logs_its_own_ids(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [], "json")

    async def handle(update_id: int, chat_id: int) -> None:
        log_context(platform="telegram", chat_id=chat_id, update_id=update_id)
        await asyncio.sleep(0)  # the other task runs in between
        log.info("handled")

    await asyncio.gather(handle(1, 10), handle(2, 20), handle(3, 30))
    assert current_context() == {}  # the tasks' ids stayed in the tasks
    assert sorted((r["update_id"], r["chat_id"]) for r in records(capsys)) == [
        (1, 10), (2, 20), (3, 30),
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_lone_surrogate_is_logged_as_its_escape_whatever_the_stream(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Text a person sent can carry one (a JSON escape in a Telegram message). Python's own
    stderr writes it as `\\ud800`; a stream that encodes strictly (PYTHONIOENCODING=
    utf-8:strict, pytest's capture) lost the whole line to '--- Logging error ---'."""
    setup_logging("INFO", [TOKEN], fmt)
    log.warning("note %s", "a\ud800b", extra={"field": "x\udfff"})
    err = capsys.readouterr().err
    assert "Logging error" not in err
    (line,) = err.splitlines()
    if fmt == "json":
        record = json.loads(line)  # the same JSON: the escape means the surrogate
        assert (record["message"], record["field"]) == ("note a\ud800b", "x\udfff")
    else:
        assert line.endswith("stackprep.test: note a\\ud800b")


def test_an_extra_field_is_masked_and_a_bad_format_string_does_not_raise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("INFO", [TOKEN], "json")
    log.info("request", extra={"url": f"https://api.telegram.org/bot{TOKEN}/getMe"})
    log.info("%d items of %s", "not a number", TOKEN)  # logging reports it; we must not raise
    output = capsys.readouterr().err
    assert TOKEN not in output
    assert json.loads(output.splitlines()[0])["url"] == f"https://api.telegram.org/bot{MASK}/getMe"


def spell(char: str, case: int, encode: bool) -> str:
    shown = (char, char.upper(), char.lower())[case]
    return (
        quote(shown, safe="").lower()
        if encode and case == 2
        else (quote(shown, safe="") if encode else shown)
    )


@given(
    secret=st.text(min_size=6, max_size=40).filter(lambda s: s.strip() == s and len(set(s)) > 3),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    form=st.sampled_from(["as is", "upper", "lower", "quote", "quote_plus", "lower hex", "mixed"]),
    data=st.data(),
)
@settings(max_examples=400, deadline=None)
def test_no_spelling_of_a_secret_survives_redaction(
    secret: str, before: str, after: str, form: str, data: st.DataObject
) -> None:
    """Whole or in part, in any case, percent-encoded or not: the secret is masked."""
    if form == "mixed":  # each character its own case, encoded or not
        cases = data.draw(st.lists(st.integers(0, 2), min_size=len(secret), max_size=len(secret)))
        codes = data.draw(st.lists(st.booleans(), min_size=len(secret), max_size=len(secret)))
        shown = "".join(spell(c, k, e) for c, k, e in zip(secret, cases, codes, strict=True))
    else:
        shown = {
            "as is": secret,
            "upper": secret.upper(),
            "lower": secret.lower(),
            "quote": quote(secret, safe=""),
            "quote_plus": quote_plus(secret, safe=""),
            "lower hex": quote(secret, safe="").lower(),
        }[form]
    redacted = Redactor([secret])(f"{before}{shown}{after}")
    assert MASK in redacted
    assert shown not in redacted or shown in before + after


# -- the adapters tag their log lines ---------------------------------------------------------


async def test_a_telegram_updates_log_lines_carry_its_ids(
    sqlite_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.telegram_api import GROUP_ID, command, harness
    from tests.fakes.telegram_api import TOKEN as TELEGRAM_TOKEN

    async with harness(sqlite_app.quiz) as tg:
        setup_logging("INFO", [TELEGRAM_TOKEN], "json")
        update = command("/question beta junior", chat_id=GROUP_ID, user_id=77)
        tg.api.fail("sendPoll", 500, "Internal Server Error")
        await tg.send(update)
    failed = next(r for r in records(capsys) if r["level"] == "ERROR")
    assert (failed["platform"], failed["chat_id"], failed["user_id"], failed["update_id"]) == (
        "telegram", GROUP_ID, 77, update["update_id"],
    )  # fmt: skip
    assert "Traceback" in failed["exc_info"]


async def test_a_discord_interactions_log_lines_carry_its_ids(
    tmp_path: Path,
    bank: QuestionBank,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord, FakeUser, running_bot

    ann = FakeUser(101, "Ann")
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        setup_logging("INFO", [], "json")

        async def broken(*args: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(bot.service, "score", broken)
        payload = fake.command("score", user=ann)
        await fake.interact(payload)
    failed = next(r for r in records(capsys) if r["level"] == "ERROR")
    assert failed["platform"] == "discord"
    assert (failed["guild_id"], failed["channel_id"], failed["user_id"]) == (
        GUILD_ID, CHANNEL_ID, ann.id,
    )  # fmt: skip
    assert str(failed["interaction_id"]) == str(payload["id"])


# -- from the command line -------------------------------------------------------------------


def test_log_format_and_warnings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STACKPREP_LOG_FORMAT", "json")
    monkeypatch.setenv("STACKPREP_DAILYTIME", "07:30")
    assert main(["config", "show"]) == 0
    (warning,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert warning["level"] == "WARNING" and warning["logger"] == "stackprep"
    assert warning["message"] == (
        "configuration: STACKPREP_DAILYTIME is not a Stackprep setting and is ignored; "
        "did you mean STACKPREP_DAILY_TIME?"
    )
