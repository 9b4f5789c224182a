"""Parsed question files kept between starts (bot/app/bankcache.py): the same bank either way,
a changed file parsed again, and a missing, damaged or unwritable cache never an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import bankcache
from bot.app.bankcache import ParsedFiles
from bot.core.bank.question_bank import load_bank
from tests.fakes.paths import DATA

BANK = DATA / "bank"


def _start(folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, object]:
    """One start: (files parsed by tomllib, the questions loaded)."""
    parsed = 0
    real = bankcache.tomllib.loads

    def counted(text: str) -> dict[str, object]:
        nonlocal parsed
        parsed += 1
        return real(text)

    monkeypatch.setattr(bankcache.tomllib, "loads", counted)
    files = ParsedFiles(cache)
    bank = load_bank(folder, files.loads)
    files.save()
    return parsed, bank.questions


def test_a_second_start_parses_nothing_and_loads_the_same_bank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "questions"
    shutil.copytree(BANK, folder)
    cache = tmp_path / "data" / "bank-cache.json"  # its folder does not exist yet
    files = len(list(folder.glob("*.toml")))
    first, questions = _start(folder, cache, monkeypatch)
    assert first == files and cache.exists()
    again, same = _start(folder, cache, monkeypatch)
    assert again == 0 and same == questions == load_bank(folder).questions

    changed = sorted(folder.glob("*.toml"))[0]
    changed.write_text(changed.read_text().replace('prompt = "', 'prompt = "Now: ', 1))
    third, edited = _start(folder, cache, monkeypatch)
    assert third == 1  # only the edited file
    assert edited == load_bank(folder).questions != questions


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300))
def test_a_damaged_cache_is_ignored_and_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, junk: bytes
) -> None:
    cache = tmp_path / "bank-cache.json"
    cache.write_bytes(junk)
    _, questions = _start(BANK, cache, monkeypatch)
    assert questions == load_bank(BANK).questions
    assert _start(BANK, cache, monkeypatch)[0] == 0


def test_an_unwritable_cache_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    _, questions = _start(BANK, blocked / "bank-cache.json", monkeypatch)
    assert questions == load_bank(BANK).questions
