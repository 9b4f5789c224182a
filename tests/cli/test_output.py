"""Output files of the operator tools: written whole or not at all, failures in one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from bot.cli.entry import main
from bot.cli.output import CommandFailed, write_file
from tests.fakes.paths import TEST_BANK


def export(target: Path | str) -> int:
    return main(["questions", "export", "--format", "json", "-o", str(target), str(TEST_BANK)])


def test_export_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(tmp_path / "bank.json") == 0
    assert (tmp_path / "bank.json").read_text().startswith("[")
    assert capsys.readouterr().out == f"wrote 5 questions to {tmp_path / 'bank.json'}\n"
    assert os.listdir(tmp_path) == ["bank.json"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("{tmp}", "it is a directory; give a file name"),
        ("{tmp}/missing/bank.json", "{tmp}/missing does not exist"),
        ("{tmp}/file.txt/bank.json", "{tmp}/file.txt is not a folder"),
        ("/dev/full", "No space left on device"),
    ],
)
def test_export_to_a_place_it_cannot_write_says_why_in_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, reason: str
) -> None:
    (tmp_path / "file.txt").write_text("keep me")
    where = target.format(tmp=tmp_path)
    assert export(where) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"stackprep: cannot write {where}: {reason.format(tmp=tmp_path)}\n")
    assert sorted(os.listdir(tmp_path)) == ["file.txt"]
    assert (tmp_path / "file.txt").read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_export_into_a_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    assert export(folder / "bank.json") == 1
    assert capsys.readouterr().err.endswith(": Permission denied\n")
    assert os.listdir(folder) == []


def test_a_write_that_fails_halfway_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    target = tmp_path / "bank.json"
    target.write_text("the old export")

    def disk_fills_up(partial: Path) -> None:
        partial.write_text("half of the new")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(CommandFailed, match=f"cannot write {target}: No space left on device"):
        write_file(target, disk_fills_up)
    assert target.read_text() == "the old export"
    assert os.listdir(tmp_path) == ["bank.json"]


def test_a_device_is_written_directly(tmp_path: Path) -> None:
    write_file(Path("/dev/null"), lambda path: path.write_text("discarded"))
