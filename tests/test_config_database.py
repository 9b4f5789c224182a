"""[database]: durability and the scheduled backups' settings, from the file and the
environment; `backup_every` is untrusted text, so it gets a property-based test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import load_config
from bot.core.common.errors import ConfigError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def test_defaults_are_normal_durability_and_daily_backups_keeping_seven() -> None:
    database = load_config(None, {}).database
    assert database.durability == "normal"
    assert database.backup_every == timedelta(hours=24) and database.backup_keep == 7


def test_the_file_and_the_environment_set_them(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[database]\ndurability = "full"\nbackup_every = "6h"\nbackup_keep = 3\n')
    database = load_config(path, {}).database
    assert (database.durability, database.backup_every, database.backup_keep) == (
        "full", timedelta(hours=6), 3,
    )  # fmt: skip
    env = {"STACKPREP_DATABASE_BACKUP_EVERY": "off", "STACKPREP_DATABASE_DURABILITY": "normal"}
    database = load_config(path, env).database
    assert database.backup_every is None and database.durability == "normal"
    path.write_text("[database]\nbackup_every = false\n")
    assert load_config(path, {}).database.backup_every is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("durability", '"paranoid"', '"normal", "full"'),
        ("backup_every", '"30s"', "from 1m to 366d"),
        ("backup_every", '"2 weeks"', 'e.g. "24h"'),
        ("backup_every", "24", '"off" or a whole number and a unit'),
        ("backup_keep", "0", "a whole number from 1 to 1000"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, key: str, value: str, expected: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[database]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, {})
    assert f"[database] {key} = " in str(err.value) and expected in str(err.value)


@given(number=st.integers(min_value=0, max_value=10**6), unit=st.sampled_from(sorted(UNITS)))
def test_a_number_and_a_unit_is_that_span_when_in_range(number: int, unit: str) -> None:
    env = {"STACKPREP_DATABASE_BACKUP_EVERY": f" {number}{unit.upper()} "}
    seconds = number * UNITS[unit]
    if 60 <= seconds <= 366 * 86400:
        assert load_config(None, env).database.backup_every == timedelta(seconds=seconds)
    else:
        with pytest.raises(ConfigError, match="STACKPREP_DATABASE_BACKUP_EVERY"):
            load_config(None, env)


@given(text=st.text(max_size=30))
@settings(max_examples=300)
def test_any_text_is_a_span_off_or_an_error_naming_the_variable(text: str) -> None:
    error = None
    try:
        every = load_config(None, {"STACKPREP_DATABASE_BACKUP_EVERY": text}).database.backup_every
    except ConfigError as exc:
        error = str(exc)
    if error is not None:
        assert error.startswith("STACKPREP_DATABASE_BACKUP_EVERY=")
    else:
        assert every is None or timedelta(minutes=1) <= every <= timedelta(days=366)
