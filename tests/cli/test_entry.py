"""`stackprep --help` and every command's: a description, help for every option, examples."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from bot.cli.entry import build_parser, main


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command's path and parser, the top level's included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


PATHS = [path for path, _ in commands(build_parser())]


def test_the_tree_holds_every_command() -> None:
    for path in [("run",), ("console",), ("db", "backup"), ("config", "show"), ("health",)]:
        assert path in PATHS


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "stackprep" for p in PATHS])
def test_every_command_has_help_and_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    examples = text.split("\nexamples:\n", 1)[1].splitlines()
    invocation = " ".join(("stackprep", *path))
    assert any(invocation in line for line in examples if line.startswith("  ")), text


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "stackprep" for p in PATHS])
def test_every_option_and_argument_is_explained(path: tuple[str, ...]) -> None:
    parser = dict(commands(build_parser()))[path]
    assert parser.description, path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, (path, choice.dest)
        else:
            assert action.help and action.help != argparse.SUPPRESS, (path, action.dest)


def test_the_top_level_explains_config_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--config PATH TOML config file (default: $STACKPREP_CONFIG" in text
    assert "stackprep --config /etc/stackprep.toml run" in text
    assert "STACKPREP_<SECTION>_<KEY>" in text and "Exit codes: 0 done, 1 failed, 2" in text
