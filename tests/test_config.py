from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Config, Secret, load_config, sections, shipped_questions
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


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:8081",  # PTB would append the token to the port: "Invalid port"
        "https://api.telegram.org",
        "https://api.telegram.org/",
        "http://127.0.0.1:8081/bot123456:ABC",  # the token pasted in
        "http://127.0.0.1:8081/b0t",
        "http://127.0.0.1:8081/bot{secret}",
    ],
)
def test_a_bot_api_url_must_end_in_bot_and_the_message_shows_how(
    tmp_path: Path, value: str
) -> None:
    path = write(tmp_path, f"[telegram]\napi_base_url = '{value}'\n")
    with pytest.raises(ConfigError) as in_file:
        load_config(path, {})
    assert str(in_file.value) == (
        f"{path}: [telegram] api_base_url = '{value}': expected an http:// or https:// URL "
        "ending in /bot, where the token goes after it, e.g. https://api.telegram.org/bot or "
        "http://127.0.0.1:8081/bot"
    )
    with pytest.raises(ConfigError, match=r"^STACKPREP_TELEGRAM_API_BASE_URL=.*ending in /bot"):
        load_config(None, {"STACKPREP_TELEGRAM_API_BASE_URL": value})


@given(st.text(max_size=60) | st.builds("http://127.0.0.1:8081{}".format, st.text(max_size=12)))
@settings(max_examples=200, deadline=None)
def test_an_accepted_bot_api_url_puts_the_token_right_after_bot(value: str) -> None:
    from telegram import Bot

    error = error_of(lambda: load_config(None, {"STACKPREP_TELEGRAM_API_BASE_URL": value}))
    if error is not None:
        assert error.startswith("STACKPREP_TELEGRAM_API_BASE_URL=") and "ending in /bot" in error
        return
    base = load_config(None, {"STACKPREP_TELEGRAM_API_BASE_URL": value}).telegram.api_base_url
    if base is None:
        assert not value.strip()  # an empty variable counts as unset
        return
    assert f"/bot{TOKEN}" in Bot(TOKEN, base_url=base).base_url


TOKEN = "123456:ABC-token"


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
    """Every key of every section (read from the dataclasses, so a new key is included) is in
    config.example.toml, with the example's value or commented out."""
    example = REPO / "config.example.toml"
    config = load_config(example, {})
    assert config.scoring.daily_cap == 200
    text = example.read_text()
    for section in sections():
        assert f"\n[{section.name}]\n" in text, section.name
        for rule in section.settings:
            if rule.secret:
                assert section.variable(rule) in text, section.variable(rule)
            else:
                assert f"\n{rule.key} =" in text or f"\n# {rule.key} =" in text, rule.key


# -- the file ------------------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_named_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "stackprep.toml"
    path.write_bytes('[daily]\ntimezone = "Europe/Z\xfcrich"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(path, {})
    assert str(err.value) == (
        f"{path}: not UTF-8 text (byte 0xfc at offset 28); save the file as UTF-8"
    )


def test_a_directory_given_as_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a config file"):
        load_config(tmp_path, {})


def test_log_section_and_its_old_name(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[log]\nlevel = "debug"\nformat = "JSON"\n'), {})
    assert (config.log.level, config.log.format, config.log_level) == ("DEBUG", "json", "DEBUG")
    old = load_config(write(tmp_path, '[logging]\nlevel = "warning"\n'), {})
    assert old.log.level == "WARNING"
    assert old.notes == (f"{tmp_path / 'stackprep.toml'}: [logging] is now called [log]",)
    with pytest.raises(ConfigError, match=r"\[logging\] is the old name of \[log\]; keep one"):
        load_config(write(tmp_path, "[logging]\nlevel = 'INFO'\n[log]\nformat = 'text'\n"), {})
    with pytest.raises(
        ConfigError, match=r"\[log\] format = 'xml': expected one of \"text\", \"json\""
    ):
        load_config(write(tmp_path, "[log]\nformat = 'xml'\n"), {})


def test_a_toml_local_time_is_a_time_of_day(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "[daily]\ntime = 07:45:00\n"), {}).daily.time == "07:45"


# -- the environment ----------------------------------------------------------------------------


def test_environment_overrides_the_file_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, '[daily]\ntime = "08:00"\ntimezone = "Europe/Berlin"\n')
    config = load_config(path, {"STACKPREP_DAILY_TIME": "07:30"})
    assert (config.daily.time, config.daily.timezone) == ("07:30", "Europe/Berlin")
    assert config.origins["daily.time"] == "environment (STACKPREP_DAILY_TIME)"
    assert config.origins["daily.timezone"] == "file"
    assert config.origins["daily.answer_window_hours"] == "default"


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("STACKPREP_PRACTICE_SESSION_SIZE", "7", lambda c: c.practice.session_size == 7),
        ("STACKPREP_DISCORD_ENABLED", "false", lambda c: c.discord.enabled is False),
        ("STACKPREP_PRACTICE_FUZZY_THRESHOLD", "90.5", lambda c: c.practice.fuzzy_threshold > 90),
        ("STACKPREP_QUIZ_ROUND_TTL_HOURS", "2", lambda c: c.quiz.round_ttl == timedelta(hours=2)),
        ("STACKPREP_SCORING_BASE_POINTS", "[5, 6, 7]", lambda c: c.scoring.base_points[2] == 7),
        (
            "STACKPREP_SCORING_SPEED_BONUS_PERCENT", "20",
            lambda c: c.scoring.speed_bonus_fraction == 0.2,
        ),
        ("STACKPREP_DAILY_TIMEZONE", "europe/paris", lambda c: c.daily.timezone == "Europe/Paris"),
        ("STACKPREP_DAILY_TIMEZONE", '"Asia/Tokyo"', lambda c: c.daily.timezone == "Asia/Tokyo"),
        ("STACKPREP_LOG_LEVEL", "debug", lambda c: c.log.level == "DEBUG"),
        ("STACKPREP_LOG_FORMAT", "json", lambda c: c.log.format == "json"),
        ("STACKPREP_OPS_LISTEN", "127.0.0.1:9108", lambda c: c.ops.listen == ("127.0.0.1", 9108)),
        (
            "STACKPREP_TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot/",
            lambda c: c.telegram.api_base_url == "http://127.0.0.1:8081/bot",
        ),
        # a string setting whose text also reads as a TOML number or boolean stays a string
        ("STACKPREP_DATABASE_PATH", "2024", lambda c: c.database.path == Path.cwd() / "2024"),
        ("STACKPREP_QUIZ_QUESTIONS_DIR", "true", lambda c: c.quiz.questions_dir.name == "true"),
        ("STACKPREP_DATABASE_PATH", "/srv/q.db", lambda c: c.database.path == Path("/srv/q.db")),
        ("STACKPREP_DATABASE", "/srv/old.db", lambda c: c.database.path == Path("/srv/old.db")),
    ],
)  # fmt: skip
def test_every_kind_of_setting_from_the_environment(
    variable: str, value: str, read: Callable[[Config], bool]
) -> None:
    config = load_config(None, {variable: value})
    assert read(config)
    assert f"environment ({variable})" in config.origins.values()


def test_each_setting_reads_its_own_value_back_from_the_environment() -> None:
    """Table-driven: every key of every section (a new one included) has a variable, which
    reads the key's value as `config show` writes it."""
    from bot.cli.config import toml_value

    reference = load_config(None, {"STACKPREP_OPS_LISTEN": "[::1]:9108"})
    for section in sections():
        for rule in section.settings:
            value = getattr(getattr(reference, section.name), rule.field)
            if value is None or rule.secret:
                continue
            text = toml_value(rule.back(value))
            variable = section.variable(rule)
            config = load_config(None, {variable: text})
            assert getattr(getattr(config, section.name), rule.field) == value, variable
            assert config.origins[f"{section.name}.{rule.key}"] == f"environment ({variable})"


@pytest.mark.parametrize(
    ("key", "file_value", "variable", "env_value"),
    [
        ("[practice] session_size", "0", "STACKPREP_PRACTICE_SESSION_SIZE", "0"),
        ("[practice] session_size", "'many'", "STACKPREP_PRACTICE_SESSION_SIZE", "many"),
        ("[daily] time", "'9am'", "STACKPREP_DAILY_TIME", "9am"),
        ("[daily] timezone", "'Berlin'", "STACKPREP_DAILY_TIMEZONE", "Berlin"),
        ("[discord] enabled", "'yes'", "STACKPREP_DISCORD_ENABLED", "yes"),
        ("[ops] listen", "'9108'", "STACKPREP_OPS_LISTEN", "9108"),
    ],
)
def test_a_bad_environment_value_is_refused_like_the_same_value_in_the_file(
    tmp_path: Path, key: str, file_value: str, variable: str, env_value: str
) -> None:
    section, name = key[1:].split("] ")
    with pytest.raises(ConfigError) as in_file:
        load_config(write(tmp_path, f"[{section}]\n{name} = {file_value}\n"), {})
    with pytest.raises(ConfigError) as in_env:
        load_config(None, {variable: env_value})
    expected = str(in_file.value).split(": expected ", 1)[1]
    assert str(in_env.value) == f"{variable}={env_value!r}: expected {expected}"


def test_an_empty_variable_counts_as_unset() -> None:
    config = load_config(None, {"STACKPREP_DAILY_TIME": "", "STACKPREP_TELEGRAM_TOKEN": "  "})
    assert config.daily.time == "09:00" and config.telegram.token is None
    assert config.origins["daily.time"] == "default"


def test_the_new_name_of_the_database_path_wins_over_the_old_one() -> None:
    """An image may set STACKPREP_DATABASE; an operator's STACKPREP_DATABASE_PATH wins."""
    config = load_config(None, {"STACKPREP_DATABASE": "/a.db", "STACKPREP_DATABASE_PATH": "/b.db"})
    assert config.database.path == Path("/b.db")
    assert config.origins["database.path"] == "environment (STACKPREP_DATABASE_PATH)"
    assert config.notes == (
        "STACKPREP_DATABASE is ignored: STACKPREP_DATABASE_PATH, its newer name, is set",
    )


def test_a_typo_in_a_known_section_stops_the_start() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, {"STACKPREP_DAILY_TIEM": "07:30"})
    assert str(err.value).startswith("STACKPREP_DAILY_TIEM: [daily] has no key 'tiem' (its ")
    assert str(err.value).endswith("did you mean STACKPREP_DAILY_TIME?")
    with pytest.raises(ConfigError, match="names are upper case: STACKPREP_DAILY_TIME"):
        load_config(None, {"STACKPREP_daily_time": "07:30"})


def test_other_unknown_variables_are_warned_about_and_platform_ones_ignored() -> None:
    platform = {
        "STACKPREP_SERVICE_HOST": "10.0.0.1",
        "STACKPREP_SERVICE_PORT": "9108",
        "STACKPREP_SERVICE_PORT_METRICS": "9108",
        "STACKPREP_PORT": "tcp://10.0.0.1:9108",
        "STACKPREP_PORT_9108_TCP": "tcp://10.0.0.1:9108",
        "STACKPREP_PORT_9108_TCP_ADDR": "10.0.0.1",
        "STACKPREP_DATABASE_SERVICE_HOST": "10.0.0.2",
        "STACKPREP_DATABASE_PORT_5432_TCP_PROTO": "tcp",
    }
    config = load_config(None, {**platform, "STACKPREP_DAILYTIME": "7", "STACKPREP_X": "1"})
    assert config.notes == (
        "STACKPREP_DAILYTIME is not a Stackprep setting and is ignored; "
        "did you mean STACKPREP_DAILY_TIME?",
        "STACKPREP_X is not a Stackprep setting and is ignored",
    )


def test_secrets_are_listed_for_redaction_and_refused_in_the_file(tmp_path: Path) -> None:
    env = {"STACKPREP_DISCORD_TOKEN": "d-token", "STACKPREP_TELEGRAM_TOKEN": "1:t-token"}
    assert sorted(load_config(None, env).secret_values()) == ["1:t-token", "d-token"]
    with pytest.raises(ConfigError, match=r"read only from the environment \(STACKPREP_DISC"):
        load_config(write(tmp_path, "[discord]\ntoken = 'x'\n"), {})


# -- property-based: untrusted files and environments -------------------------------------------

SETTINGS = [(s.name, r.key, s.variable(r), r.secret) for s in sections() for r in s.settings]
SCALARS = (
    st.text(max_size=40)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True)
    | st.booleans()
    | st.times()
    | st.dates()
    | st.datetimes()
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


def toml(value: object) -> str:
    """A TOML literal for `value` (what hypothesis generates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return json.dumps(value).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return str(value).replace(" ", "T") if isinstance(value, datetime) else str(value)


def error_of(load: Callable[[], object]) -> str | None:
    """The ConfigError's message, or None when it loads; anything else propagates."""
    try:
        load()
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")


@given(setting=st.sampled_from(SETTINGS), value=VALUES)
@settings(max_examples=300, deadline=None)
def test_any_value_of_a_key_gives_a_config_or_an_error_naming_the_key(
    folder: Path, setting: tuple[str, str, str, bool], value: object
) -> None:
    section, key, _, _ = setting
    path = folder / "value.toml"
    path.write_text(f"[{section}]\n{key} = {toml(value)}\n", encoding="utf-8")
    error = error_of(lambda: load_config(path, {}))
    if error is not None:
        assert error.startswith(f"{path}: ")
        assert f"[{section}] {key}" in error or "not valid TOML" in error


@given(
    document=st.dictionaries(
        st.sampled_from([s.name for s in sections()]) | st.text(max_size=8),
        st.dictionaries(st.sampled_from([k for _, k, _, _ in SETTINGS]) | st.text(max_size=8),
                        VALUES, max_size=4)
        | SCALARS,
        max_size=4,
    )
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_any_document_gives_a_config_or_an_error_naming_the_file(
    folder: Path, document: dict[str, object]
) -> None:
    lines = []
    for name, body in document.items():
        if isinstance(body, dict):
            lines.append(f"[{json.dumps(name)}]")
            lines += [f"{json.dumps(k)} = {toml(v)}" for k, v in body.items()]
        else:
            lines.insert(0, f"{json.dumps(name)} = {toml(body)}")
    path = folder / "document.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    error = error_of(lambda: load_config(path, {}))
    assert error is None or error.startswith(f"{path}: ")


@given(data=st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_any_bytes_give_a_config_or_an_error_naming_the_file(folder: Path, data: bytes) -> None:
    path = folder / "bytes.toml"
    path.write_bytes(data)
    error = error_of(lambda: load_config(path, {}))
    assert error is None or error.startswith(f"{path}: ")


@given(setting=st.sampled_from(SETTINGS), text=st.text(max_size=60) | VALUES.map(toml))
@settings(max_examples=400, deadline=None)
def test_any_environment_value_gives_a_config_or_an_error_naming_the_variable(
    setting: tuple[str, str, str, bool], text: str
) -> None:
    _, _, variable, secret = setting
    error = error_of(lambda: load_config(None, {variable: text}))
    if error is not None:
        assert error.startswith(f"{variable}=")
        assert not (secret and text.strip() and text.strip() in error)


@given(name=st.from_regex(r"STACKPREP_[A-Za-z0-9_]{0,30}", fullmatch=True), text=st.text())
@settings(max_examples=300, deadline=None)
def test_any_stackprep_variable_gives_a_config_or_an_error_naming_it(name: str, text: str) -> None:
    error = error_of(lambda: load_config(None, {name: text}))
    assert error is None or error.startswith(name)
