"""[telegram] mode: polling by default; a webhook with `listen`, `public_url` and a secret that
comes only from STACKPREP_TELEGRAM_WEBHOOK_SECRET and never shows in an error, a repr,
`config show` or a log line."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli.config import render
from bot.config import Secret, load_config
from bot.core.common.errors import ConfigError
from bot.log import MASK, RedactingFilter, TextFormatter

SECRET = "Hook_Secret-123abc"
WEBHOOK = {
    "STACKPREP_TELEGRAM_MODE": "webhook",
    "STACKPREP_TELEGRAM_LISTEN": "127.0.0.1:8080",
    "STACKPREP_TELEGRAM_PUBLIC_URL": "https://bot.example.com/telegram/",
    "STACKPREP_TELEGRAM_WEBHOOK_SECRET": SECRET,
}


def error(path: Path | None, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path, env)
    return str(err.value)


def test_polling_by_default() -> None:
    telegram = load_config(None, {}).telegram
    assert telegram.mode == "polling"
    assert (telegram.listen, telegram.public_url, telegram.webhook_secret) == (None, None, None)
    assert telegram.delete_webhook_at_stop is False


def test_webhook_mode_from_the_file_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "stackprep.toml"
    path.write_text(
        '[telegram]\nmode = "webhook"\nlisten = "[::1]:8443"\n'
        'public_url = "https://bot.example.com:8443/tg"\ndelete_webhook_at_stop = true\n'
    )
    telegram = load_config(path, {"STACKPREP_TELEGRAM_WEBHOOK_SECRET": SECRET}).telegram
    assert telegram.mode == "webhook" and telegram.listen == ("::1", 8443)
    assert telegram.public_url == "https://bot.example.com:8443/tg"
    assert telegram.webhook_secret == Secret(SECRET) and telegram.delete_webhook_at_stop
    assert SECRET not in repr(telegram) and SECRET not in str(telegram)


def test_webhook_mode_names_what_it_misses() -> None:
    assert error(None, {"STACKPREP_TELEGRAM_MODE": "webhook"}) == (
        'STACKPREP_TELEGRAM_MODE=\'webhook\': expected "polling", or "webhook" with listen, '
        "public_url and STACKPREP_TELEGRAM_WEBHOOK_SECRET set (missing: listen, public_url, "
        "STACKPREP_TELEGRAM_WEBHOOK_SECRET)"
    )
    without_secret = {k: v for k, v in WEBHOOK.items() if "SECRET" not in k}
    assert error(None, without_secret).endswith("(missing: STACKPREP_TELEGRAM_WEBHOOK_SECRET)")


def test_the_secret_is_read_only_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "stackprep.toml"
    path.write_text(f'[telegram]\nwebhook_secret = "{SECRET}"\n')
    message = error(path, {})
    assert "secrets such as tokens are read only from the environment" in message
    assert "STACKPREP_TELEGRAM_WEBHOOK_SECRET" in message and SECRET not in message


@pytest.mark.parametrize(
    "value",
    ["has space", "semi;colon", "x" * 257, "ümlaut", "a.b", "slash/", "new\nline"],
)
def test_a_secret_telegram_would_refuse_is_refused_without_showing_it(value: str) -> None:
    message = error(None, {"STACKPREP_TELEGRAM_WEBHOOK_SECRET": value})
    assert message == (
        "STACKPREP_TELEGRAM_WEBHOOK_SECRET=(a secret, not shown): expected 1 to 256 "
        "characters, each a letter A-Z or a-z, a digit, _ or -"
    )


@pytest.mark.parametrize("value", ["a", "x" * 256, "AZaz09_-", SECRET])
def test_a_secret_telegram_takes_is_taken(value: str) -> None:
    secret = load_config(None, {"STACKPREP_TELEGRAM_WEBHOOK_SECRET": value}).telegram
    assert secret.webhook_secret == Secret(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://bot.example.com/tg", "an https:// URL"),
        ("https://bot.example.com:8080/tg", "on port 443, 80, 88 or 8443"),
        ("https://user:pw@bot.example.com/tg", "without a user or password"),
        ("https://bot.example.com/tg?key=1", "without ? or #"),
        ("https://bot.example.com/t%20g", "its path of letters, digits"),
        ("https:///tg", "an https:// URL"),
        ("bot.example.com/tg", "an https:// URL"),
    ],
)
def test_a_public_url_telegram_would_not_call_is_refused(value: str, why: str) -> None:
    message = error(None, {"STACKPREP_TELEGRAM_PUBLIC_URL": value})
    assert message.startswith("STACKPREP_TELEGRAM_PUBLIC_URL=") and why in message
    assert "pw@" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://bot.example.com", "https://bot.example.com"),
        ("https://bot.example.com/a/b_c.d~e-f/", "https://bot.example.com/a/b_c.d~e-f"),
        ("https://bot.example.com:88/x", "https://bot.example.com:88/x"),
    ],
)
def test_public_urls_telegram_calls_are_taken(value: str, expected: str) -> None:
    public = load_config(None, {"STACKPREP_TELEGRAM_PUBLIC_URL": value}).telegram.public_url
    assert public == expected


def test_listen_is_parsed_like_the_ops_listener() -> None:
    assert load_config(None, {"STACKPREP_TELEGRAM_LISTEN": "0.0.0.0:8080"}).telegram.listen == (
        "0.0.0.0",
        8080,
    )
    assert "expected host:port" in error(None, {"STACKPREP_TELEGRAM_LISTEN": "8080"})


def test_config_show_shows_the_mode_and_masks_the_secret() -> None:
    shown = render(load_config(None, WEBHOOK))
    assert 'mode = "webhook"' in shown and 'listen = "127.0.0.1:8080"' in shown
    assert 'public_url = "https://bot.example.com/telegram"' in shown
    assert f'webhook_secret = "{MASK}"' in shown and SECRET not in shown
    assert "delete_webhook_at_stop = false" in shown
    polling = render(load_config(None, {}))
    assert 'mode = "polling"' in polling
    assert "# webhook_secret is not set" in polling
    assert "only from STACKPREP_TELEGRAM_WEBHOOK_SECRET" in polling


def test_the_secret_is_masked_in_log_lines_in_any_case() -> None:
    config = load_config(None, WEBHOOK)
    assert SECRET in config.secret_values()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    handler.addFilter(RedactingFilter(config.secret_values()))
    logger = logging.getLogger("test.webhook.secret")
    logger.addHandler(handler)
    try:
        logger.warning("header was %s / %s", SECRET, SECRET.upper())
    finally:
        logger.removeHandler(handler)
    assert SECRET.lower() not in stream.getvalue().lower() and MASK in stream.getvalue()


@given(text=st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_secret_value_is_taken_or_refused_without_being_shown(text: str) -> None:
    variable = "STACKPREP_TELEGRAM_WEBHOOK_SECRET"
    try:
        secret = load_config(None, {variable: text}).telegram.webhook_secret
    except ConfigError as exc:
        message = str(exc)
    else:
        if not text.strip():
            assert secret is None  # an empty variable is unset
        else:
            assert secret is not None and secret.reveal() == text.strip()
            assert 1 <= len(text.strip()) <= 256
        return
    expected = f"{variable}=(a secret, not shown): expected 1 to 256 characters, each a "
    assert message.startswith(expected)
    assert message == expected + "letter A-Z or a-z, a digit, _ or -"
