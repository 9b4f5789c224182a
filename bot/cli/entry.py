"""The `stackprep` command: run the bot, the console quiz, and operator tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.config import Config, load_config
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
    export = qsub.add_parser("export", help="write the bank for Anki, Moodle (GIFT) or as JSON")
    export.add_argument("--format", choices=["anki", "gift", "json"], required=True)
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
    from bot.app import run as runtime

    command = args.command or "run"
    if command in {"run", "console"}:
        try:
            return asyncio.run(runtime.run(config, console=command == "console"))
        except runtime.AdapterError as exc:
            log.error("%s", exc)
            return 1
    if command == "questions":
        from bot.cli import bank as bank_tools

        path = args.path or config.quiz.questions_dir
        if args.action == "check":
            return bank_tools.check(path, sys.stdout)
        if args.action == "stats":
            return bank_tools.stats(path, sys.stdout)
        return bank_tools.export(path, args.format, args.output, sys.stdout)
    if command == "db":
        from bot.storage.sqlite import database as sqlite

        if args.action == "migrate":
            version = asyncio.run(_migrate(config))
            print(f"{config.database.path}: schema version {version}")
            return 0
        asyncio.run(sqlite.backup(config.database.path, args.target))
        print(f"backed up {config.database.path} to {args.target}")
        return 0
    if command == "discord":
        return _discord_sync(config, args.guild)
    if command == "daily":
        return asyncio.run(_daily_list(config))
    raise AssertionError(command)


async def _daily_list(config: Config) -> int:
    from datetime import UTC, datetime

    from bot.core.daily.model import next_fire
    from bot.core.daily.texts import duration
    from bot.storage.sqlite.daily import SqliteDailyStore
    from bot.storage.sqlite.database import SqliteStore

    store = SqliteStore(config.database.path)
    await store.open()
    try:
        subs = await SqliteDailyStore(store).subscriptions(active_only=False)
    finally:
        await store.close()
    if not subs:
        print("No daily questions yet: an admin starts one with /daily set in a channel.")
        return 0
    now = datetime.now(UTC)
    header = ("id", "platform", "place", "time", "timezone", "questions", "window", "recap",
              "next post (UTC)", "state")  # fmt: skip
    rows = [header]
    for d in subs:
        place = d.chat.chat_id + (f" in {d.chat.community_id}" if d.chat.community_id else "")
        level = {1: "junior", 2: "mid", 3: "senior"}.get(d.difficulty or 0, "any")
        rows.append((
            str(d.id), d.chat.platform.value, place, f"{d.time:%H:%M}", d.timezone,
            f"{','.join(d.topics) or 'all'}; {level}", duration(d.window),
            "on" if d.recap else "off",
            f"{next_fire(d, now)[1]:%Y-%m-%d %H:%M}" if d.active else "-",
            "active" if d.active else f"off: {d.disabled_reason or 'turned off'}",
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    print(f"{sum(d.active for d in subs)} active, {sum(not d.active for d in subs)} off")
    return 0


def _discord_sync(config: Config, guild: int | None) -> int:
    from bot.adapters.discord import adapter as discord_adapter
    from bot.app import run as runtime

    try:
        names = asyncio.run(discord_adapter.sync_commands(config, guild))
    except runtime.AdapterError as exc:
        log.error("%s", exc)
        return 1
    where = f"in server {guild}" if guild else "globally"
    print(f"registered {len(names)} commands {where}: " + " ".join(f"/{n}" for n in names))
    return 0


async def _migrate(config: Config) -> int:
    from bot.storage.sqlite.database import SCHEMA_VERSION, SqliteStore

    store = SqliteStore(config.database.path)
    await store.open()
    await store.close()
    return SCHEMA_VERSION
