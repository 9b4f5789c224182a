"""The `stackprep` command line."""

from bot.cli.entry import main

__all__ = ["main"]
