"""`stackprep config show`: the configuration in effect, secrets masked, origins named; its
output is itself a config file that loads to the same configuration."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.cli.config import render
from bot.cli.entry import main
from bot.config import load_config, sections


def test_show_names_where_each_value_came_from_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "stackprep.toml"
    file.write_text('[daily]\ntime = "08:00"\ntimezone = "Europe/Berlin"\n')
    monkeypatch.setenv("STACKPREP_DAILY_TIME", "07:30")
    monkeypatch.setenv("STACKPREP_TELEGRAM_TOKEN", "123456:very-secret")
    monkeypatch.setenv("STACKPREP_DATABASE", str(tmp_path / "live.db"))
    assert main(["--config", str(file), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out
    rows = {line.split("  # ")[0].strip(): line.split("  # ")[1] for line in out.splitlines()
            if "  # " in line}  # fmt: skip
    assert rows['time = "07:30"'] == "environment (STACKPREP_DAILY_TIME)"
    assert rows['timezone = "Europe/Berlin"'] == "file"
    assert rows["answer_window_hours = 12"] == "default"
    assert rows['token = "********"'] == "environment (STACKPREP_TELEGRAM_TOKEN)"
    assert rows[f'path = "{tmp_path / "live.db"}"'] == "environment (STACKPREP_DATABASE)"
    assert rows["# token is not set"] == "default; only from STACKPREP_DISCORD_TOKEN"
    assert out.startswith(f"# Configuration in effect: defaults, then {file}, then STACKPREP_*")


def test_show_lists_every_key_of_every_section() -> None:
    text = render(load_config(None, {}))
    for section in sections():
        assert f"\n[{section.name}]\n" in text
        for rule in section.settings:
            assert f"\n{rule.key} = " in text or f"\n# {rule.key} is not set" in text, rule.key


def test_what_show_prints_loads_back_to_the_same_configuration(tmp_path: Path) -> None:
    env = {
        "STACKPREP_DAILY_TIMEZONE": "asia/tokyo",
        "STACKPREP_SCORING_BASE_POINTS": "[1, 2, 3]",
        "STACKPREP_PRACTICE_FUZZY_THRESHOLD": "90.5",
        "STACKPREP_OPS_LISTEN": "[::1]:9108",
        "STACKPREP_LOG_FORMAT": "JSON",
        "STACKPREP_DISCORD_TOKEN": "x",
    }
    original = load_config(None, env)
    shown = render(original)
    assert tomllib.loads(shown)  # it is TOML
    file = tmp_path / "shown.toml"
    file.write_text("\n".join(line for line in shown.splitlines() if "********" not in line))
    again = load_config(file, {})
    for section in sections():
        assert getattr(again, section.name) == getattr(
            original if section.name != "discord" else load_config(None, {}), section.name
        ), section.name
    blocks = dict(re.findall(r"\n\[(\w+)\]\n(.*?)(?=\n\[|\Z)", shown, re.S))  # by section
    unset = {f"{s.name}.{r.key}" for s in sections() for r in s.settings
             if f"# {r.key} is not set" in blocks[s.name] or r.secret}  # fmt: skip
    assert {key for key, origin in again.origins.items() if origin != "file"} == unset
