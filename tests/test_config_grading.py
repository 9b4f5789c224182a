"""[grading]: the keyword grader by default; the model grader with a URL, a model and a key that
comes only from STACKPREP_LLM_API_KEY and never shows in an error, a repr, `config show` or a
log line."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli.config import render
from bot.config import Secret, load_config
from bot.core.common.errors import ConfigError
from bot.log import MASK, RedactingFilter, TextFormatter

KEY = "sk-Proj-Abc123_def456"
LLM = {
    "STACKPREP_GRADING_BACKEND": "llm",
    "STACKPREP_GRADING_BASE_URL": "http://127.0.0.1:11434/v1/",
    "STACKPREP_GRADING_MODEL": "qwen2.5:7b-instruct",
    "STACKPREP_LLM_API_KEY": KEY,
}


def error(path: Path | None, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path, env)
    return str(err.value)


def test_keywords_by_default() -> None:
    grading = load_config(None, {}).grading
    assert (grading.backend, grading.base_url, grading.model, grading.api_key) == (
        "keywords", None, None, None,
    )  # fmt: skip
    assert (grading.timeout_seconds, grading.daily_limit, grading.cache_size) == (8.0, 50, 1000)


def test_the_model_grader_from_the_environment() -> None:
    config = load_config(None, LLM)
    grading = config.grading
    assert grading.backend == "llm" and grading.base_url == "http://127.0.0.1:11434/v1"
    assert grading.model == "qwen2.5:7b-instruct" and grading.api_key == Secret(KEY)
    assert config.secret_values() == [KEY]  # handed to the log's redaction
    assert KEY not in repr(config) and KEY not in render(config)
    assert re.search(r'\napi_key = "\*+" +# environment \(STACKPREP_LLM_API_KEY\)', render(config))


def test_the_model_grader_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[grading]\nbackend = "llm"\nbase_url = "https://api.example.com/v1"\n'
        'model = "small"\ntimeout_seconds = 2.5\ndaily_limit = 10\ncache_size = 0\n'
    )
    grading = load_config(path, {"STACKPREP_LLM_API_KEY": KEY}).grading
    assert (grading.base_url, grading.timeout_seconds, grading.daily_limit) == (
        "https://api.example.com/v1", 2.5, 10,
    )  # fmt: skip
    assert error(path, {}) == (
        f'{path}: [grading] backend = \'llm\': expected "keywords", or "llm" with base_url, '
        "model and STACKPREP_LLM_API_KEY set (missing: STACKPREP_LLM_API_KEY)"
    )


def test_llm_without_a_model_or_key_is_one_clear_line() -> None:
    env = {**LLM, "STACKPREP_GRADING_MODEL": "", "STACKPREP_LLM_API_KEY": ""}
    assert error(None, env) == (
        'STACKPREP_GRADING_BACKEND=\'llm\': expected "keywords", or "llm" with base_url, '
        "model and STACKPREP_LLM_API_KEY set (missing: model, STACKPREP_LLM_API_KEY)"
    )


def test_the_key_comes_only_from_stackprep_llm_api_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[grading]\napi_key = "{KEY}"\n')
    message = error(path, {})
    assert "read only from the environment (STACKPREP_LLM_API_KEY)" in message
    assert KEY not in message
    message = error(None, {"STACKPREP_GRADING_API_KEY": KEY})
    assert "[grading] has no key 'api_key'" in message and "STACKPREP_LLM_API_KEY" in message
    assert KEY not in message


@pytest.mark.parametrize(
    "value",
    ["ftp://host/v1", "127.0.0.1:11434/v1", "http:///v1", "http://host:99999/v1",
     "http://host/v1?key=1", "http://me:secret@host/v1"],
)  # fmt: skip
def test_a_bad_url_is_named_without_a_password(value: str) -> None:
    message = error(None, {"STACKPREP_GRADING_BASE_URL": value})
    assert message.startswith("STACKPREP_GRADING_BASE_URL=")
    assert "expected an http:// or https:// URL of an OpenAI-compatible API" in message
    assert "secret" not in message


@pytest.mark.parametrize("bad", ["has space", "tab\there", "ключ", "x" * 5000])
def test_a_bad_key_is_refused_without_echoing_it(bad: str) -> None:
    message = error(None, {"STACKPREP_LLM_API_KEY": bad})
    assert message.startswith("STACKPREP_LLM_API_KEY=(a secret, not shown): expected")
    assert bad not in message


@given(text=st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_any_key_text_gives_a_config_or_an_error_that_never_shows_it(text: str) -> None:
    key = f"Qz7{text}"
    try:
        config = load_config(None, {**LLM, "STACKPREP_LLM_API_KEY": key})
    except ConfigError as exc:
        shown = str(exc)
    else:
        shown = repr(config) + render(config)
    assert key.strip() not in shown and "Qz7" not in shown


def test_the_key_is_masked_in_log_lines_however_it_is_spelled() -> None:
    secrets = load_config(None, LLM).secret_values()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter("%(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger("tests.grading.key")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for spelled in (KEY, KEY.upper(), KEY.lower(), quote(KEY), quote_plus(KEY)):
            logger.warning("Authorization: Bearer %s", spelled)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.count(f"Bearer {MASK}") == 5 and "abc123" not in text.lower()
