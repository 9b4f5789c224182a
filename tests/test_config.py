from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Secret, load_config, shipped_questions
from bot.core.common.errors import ConfigError
from tests.fakes.paths import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stackprep.toml"
    path.write_text(text)
    return path


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert config.database.path == tmp_path / "data" / "stackprep.db"
    assert config.quiz.questions_dir == shipped_questions() == REPO / "questions"
    assert config.scoring.base_points == (10, 20, 30)
    assert not config.discord_active and not config.telegram_active


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[scoring]\ndaily_cap = 300\n[database]\npath = "db/q.db"\n')
    config = load_config(path, {})
    assert config.scoring.daily_cap == 300
    assert config.scoring.repeat_window == timedelta(days=7)
    assert config.database.path == tmp_path / "db" / "q.db"


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "[daily]\ntimezone = 'Europe/Berlin'\n")
    assert load_config(None, {"STACKPREP_CONFIG": str(path)}).daily.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scoring]\ndaily_cap = -5\n", "[scoring] daily_cap = -5: expected a whole number"),
        ("[scoring]\nbase_points = [10, 20]\n", "[scoring] base_points"),
        ("[daily]\ntime = '9am'\n", 'expected a time of day as "HH:MM"'),
        ("[daily]\ntimezone = 'Mars/Olympus'\n", "expected an IANA timezone name"),
        ("[daily]\ntimezone = 'America'\n", "expected an IANA timezone name"),  # a tzdata dir
        ("[quiz]\nround_ttl_hours = 'long'\n", "[quiz] round_ttl_hours = 'long'"),
        ("[telegram]\napi_base_url = 'ftp://x'\n", "expected an http:// or https:// URL"),
        ("[scoring]\ndailycap = 5\n", "[scoring] unknown key 'dailycap'"),
        ("[scorng]\n", "unknown section [scorng]"),
        ("[telegram]\ntoken = '123:abc'\n", "tokens are read only from the environment"),
        ("[discord\n", "not valid TOML"),
    ],
)
def test_bad_values_name_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, {})
    assert str(err.value).startswith(str(path))
    assert expected in str(err.value)
    assert "123:abc" not in str(err.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", {})


def test_tokens_only_from_environment_and_never_shown() -> None:
    config = load_config(None, {"STACKPREP_TELEGRAM_TOKEN": "123456:SECRET-token"})
    assert config.telegram_active and not config.discord_active
    assert config.telegram.token == Secret("123456:SECRET-token")
    assert config.telegram.token is not None
    assert config.telegram.token.reveal() == "123456:SECRET-token"
    for text in (repr(config), str(config), f"{config.telegram}"):
        assert "SECRET" not in text


def test_disabled_platform_is_not_active(tmp_path: Path) -> None:
    path = write(tmp_path, "[discord]\nenabled = false\n")
    config = load_config(path, {"STACKPREP_DISCORD_TOKEN": "x"})
    assert not config.discord_active


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = REPO / "config.example.toml"
    config = load_config(example, {})
    assert config.scoring.daily_cap == 200
    from bot.config import _SCHEMA

    text = example.read_text()
    for section, keys in _SCHEMA.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key}"
