"""[discord] shard_count and shard_ids: unset, Discord's recommendation; set, exactly those
shards of that count. Bad values stop the start with one line naming the file or variable:
a count below 1, an id twice, an id outside the count, ids without a count."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli.config import render
from bot.config import MAX_SHARDS, load_config, shard_ids
from bot.core.common.errors import ConfigError

COUNT = "STACKPREP_DISCORD_SHARD_COUNT"
IDS = "STACKPREP_DISCORD_SHARD_IDS"


def error(path: Path | None, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path, env)
    return str(err.value)


def test_unset_means_discords_recommendation() -> None:
    discord = load_config(None, {}).discord
    assert (discord.shard_count, discord.shard_ids) == (None, None)


@pytest.mark.parametrize(
    ("env", "count", "ids"),
    [
        ({COUNT: "4"}, 4, None),  # all four shards in this process
        ({COUNT: "4", IDS: "[2, 0]"}, 4, (0, 2)),
        ({COUNT: "4", IDS: "0,1"}, 4, (0, 1)),
        ({COUNT: "4", IDS: "3"}, 4, (3,)),
        ({COUNT: "16", IDS: " 4-7, 12 "}, 16, (4, 5, 6, 7, 12)),
    ],
)
def test_the_environment_forms(env: dict[str, str], count: int, ids: tuple[int, ...]) -> None:
    discord = load_config(None, env).discord
    assert (discord.shard_count, discord.shard_ids) == (count, ids)


def test_the_file_form_and_config_show(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[discord]\nshard_count = 4\nshard_ids = [1, 3]\n")
    config = load_config(path, {})
    assert (config.discord.shard_count, config.discord.shard_ids) == (4, (1, 3))
    shown = render(config)
    assert "shard_count = 4" in shown and "shard_ids = [1, 3]" in shown
    again = tmp_path / "shown.toml"  # what config show prints is a valid file, same values
    again.write_text(shown)
    assert load_config(again, {}).discord.shard_ids == (1, 3)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({COUNT: "0"}, f"{COUNT}='0': expected a whole number from 1 to 100000"),
        (
            {IDS: "0"},
            f"{IDS}='0': expected shard_ids only together with shard_count, the bot's total "
            "number of shards (e.g. shard_count = 4 and shard_ids = [0, 1])",
        ),
        (
            {COUNT: "2", IDS: "1-3"},
            f"{IDS}='1-3': expected shard ids from 0 to 1 (below shard_count = 2), not 2, 3",
        ),
        (
            {COUNT: "4", IDS: "0, 2, 0"},
            f"{IDS}='0, 2, 0': expected each shard id once (0 is listed twice)",
        ),
        (
            {COUNT: "8", IDS: "0-3, 2"},
            f"{IDS}='0-3, 2': expected each shard id once (2 is listed twice)",
        ),
        (
            {COUNT: "4", IDS: "3-1"},
            f"{IDS}='3-1': expected a range from the lower id to the higher, not 3-1",
        ),
        (
            {COUNT: "4", IDS: "[]"},
            f"{IDS}='[]': expected a list of shard ids such as [0, 1], or a text of ids and "
            'ranges such as "0-3, 8"',
        ),
        (
            {COUNT: "4", IDS: "0-999999"},
            f"{IDS}='0-999999': expected shard ids from 0 to 99999, not 999999",
        ),
    ],
)
def test_bad_values_stop_the_start_with_one_line(env: dict[str, str], message: str) -> None:
    assert error(None, env) == message


def test_a_file_names_its_path_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[discord]\nshard_count = 2\nshard_ids = [0, 2]\n")
    assert error(path, {}) == (
        f"{path}: [discord] shard_ids = [0, 2]: expected shard ids from 0 to 1 (below "
        "shard_count = 2), not 2"
    )
    path.write_text("[discord]\nshard_ids = [true]\n")
    assert error(path, {}).startswith(f"{path}: [discord] shard_ids = [True]: expected a list")


# -- the parser, for any input --------------------------------------------------------------


def as_text(ids: list[int]) -> str:
    """The ids as an operator writes them: runs as ranges, the rest one by one."""
    parts: list[str] = []
    for i in ids:
        if parts and "-" not in parts[-1] and int(parts[-1]) == i - 1:
            parts[-1] = f"{i - 1}-{i}"
        elif parts and "-" in parts[-1] and int(parts[-1].split("-")[1]) == i - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{i}"
        else:
            parts.append(str(i))
    return ", ".join(parts)


@given(
    st.integers(1, 300).flatmap(
        lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1), min_size=1))
    )
)
@settings(max_examples=200, deadline=None)
def test_any_set_of_ids_below_the_count_is_taken_as_a_list_or_a_text(
    case: tuple[int, set[int]],
) -> None:
    count, ids = case
    wanted = tuple(sorted(ids))
    shuffled = sorted(ids, key=lambda i: (i * 7919) % 101)
    as_list = load_config(None, {COUNT: str(count), IDS: str(shuffled)}).discord
    as_ranges = load_config(None, {COUNT: str(count), IDS: as_text(sorted(ids))}).discord
    assert as_list.shard_ids == as_ranges.shard_ids == wanted
    assert as_list.shard_count == count


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_taken_or_refused_with_one_line(value: str) -> None:
    env = {COUNT: "64", IDS: value}
    try:
        ids = load_config(None, env).discord.shard_ids
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{IDS}=") and "\n" not in message
        assert "expected" in message
        return
    if ids is None:
        assert not value.strip()  # an empty variable counts as unset
        return
    assert list(ids) == sorted(set(ids)) and all(0 <= i < 64 for i in ids)


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=10,
)


@given(TOML_VALUES)
@settings(max_examples=300, deadline=None)
def test_the_check_returns_sorted_unique_ids_or_says_what_is_expected(value: object) -> None:
    ids: tuple[int, ...] = ()
    expected = ""
    try:
        ids = shard_ids(value)
    except ValueError as exc:
        expected = str(exc)
    if expected:
        assert "\n" not in expected
    else:
        assert ids and list(ids) == sorted(set(ids)) and all(0 <= i < MAX_SHARDS for i in ids)
