"""The `stackprep` command: run the bot, the console quiz, and operator tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.adapters.base import AdapterError
from bot.config import Config, load_config
from bot.core.bank.exporters import EXPORT_FORMATS
from bot.core.common.errors import BankError, ConfigError, StorageUnavailable
from bot.log import setup_logging

log = logging.getLogger("stackprep")


def _version() -> str:
    try:
        return version("stackprep")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackprep",
        description="Interview-prep quiz bot for Full Stack Python Developer interviews. "
        "With no command: serve Discord/Telegram when their tokens are set, "
        "else start the console quiz.",
    )
    parser.add_argument("--version", action="version", version=f"stackprep {_version()}")
    parser.add_argument(
        "--config", type=Path, help="TOML config file (default: $STACKPREP_CONFIG, else none)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (the default)")
    sub.add_parser("console", help="the terminal quiz, even when platform tokens are set")

    questions = sub.add_parser("questions", help="check, count and export the question bank")
    qsub = questions.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = qsub.add_parser("check", help="validate question files; exit 1 on any problem")
    check.add_argument("path", nargs="?", type=Path, help="a directory or one .toml file")
    stats = qsub.add_parser("stats", help="questions per topic and difficulty")
    stats.add_argument("path", nargs="?", type=Path, help="a directory of question files")
    export = qsub.add_parser(
        "export", help="write the bank for Anki (text or .apkg), Moodle (GIFT) or as JSON"
    )
    export.add_argument("--format", choices=[*EXPORT_FORMATS], required=True)
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export.add_argument("path", nargs="?", type=Path, help="a directory of question files")

    db = sub.add_parser("db", help="database maintenance")
    dsub = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    dsub.add_parser("migrate", help="apply pending schema migrations")
    backup = dsub.add_parser("backup", help="online backup of the database (safe while running)")
    backup.add_argument("target", type=Path)

    daily = sub.add_parser("daily", help="the daily question")
    daily_sub = daily.add_subparsers(dest="action", metavar="ACTION", required=True)
    daily_sub.add_parser("list", help="every place's daily schedule, its next post and state")

    discord = sub.add_parser("discord", help="Discord setup")
    discord_sub = discord.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = discord_sub.add_parser(
        "sync", help="register the slash commands with Discord (run after install or upgrade)"
    )
    sync.add_argument(
        "--guild", type=int, metavar="ID", help="register in this server only, instantly"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(f"stackprep: configuration error: {exc}", file=sys.stderr)
        return 2
    secrets = [s.reveal() for s in (config.discord.token, config.telegram.token) if s]
    setup_logging(config.log_level, secrets)
    try:
        return dispatch(args, config)
    except BankError as exc:
        print(f"stackprep: {exc}", file=sys.stderr)
        return 2
    except StorageUnavailable as exc:
        print(f"stackprep: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace, config: Config) -> int:
    command = args.command or "run"
    if command in {"run", "console"}:
        from bot.app import run as runtime

        try:
            return asyncio.run(runtime.run(config, console=command == "console"))
        except AdapterError as exc:
            log.error("%s", exc)
            return 1
    if command == "questions":
        from bot.cli import bank

        path = args.path or config.quiz.questions_dir
        if args.action == "check":
            return bank.check(path, sys.stdout)
        if args.action == "stats":
            return bank.stats(path, sys.stdout)
        return bank.export(path, args.format, args.output, sys.stdout)
    if command == "db":
        from bot.cli import db

        if args.action == "migrate":
            return asyncio.run(db.migrate(config, sys.stdout))
        return asyncio.run(db.backup(config, args.target, sys.stdout))
    if command == "discord":
        return _discord_sync(config, args.guild)
    if command == "daily":
        from bot.cli import daily

        return asyncio.run(daily.list_places(config, sys.stdout))
    raise AssertionError(command)


def _discord_sync(config: Config, guild: int | None) -> int:
    from bot.app import run as runtime

    try:
        names = asyncio.run(runtime.sync_discord(config, guild))
    except AdapterError as exc:
        log.error("%s", exc)
        return 1
    where = f"in server {guild}" if guild else "globally"
    print(f"registered {len(names)} commands {where}: " + " ".join(f"/{n}" for n in names))
    return 0
