"""The `stackprep` command: run the bot, the console quiz, and operator tools.

Adding a command is one `command(...)` call in `build_parser`: its help line, a description
if the help line is not enough, examples (each a command line and what it does; a test
checks every command shows at least one) and the handler, `(args, config) -> exit code`.
Exit codes: 0 done, 1 the command failed (`CommandFailed`: one line on stderr), 2 a usage,
configuration or bank error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.adapters.base import AdapterError
from bot.cli import health as health_cli
from bot.cli.output import CommandFailed
from bot.config import Config, load_config
from bot.core.bank.exporters import EXPORT_FORMATS
from bot.core.common.errors import BankError, ConfigError, StorageUnavailable
from bot.log import setup_logging

log = logging.getLogger("stackprep")

Handler = Callable[[argparse.Namespace, Config], int]
Examples = Sequence[tuple[str, str]]  # (command line, what it does)


def _version() -> str:
    try:
        return version("stackprep")
    except PackageNotFoundError:
        return "unknown"


def _paragraphs(text: str) -> str:
    return "\n\n".join(textwrap.fill(p, 78) for p in text.split("\n\n"))


def _examples(examples: Examples) -> str:
    lines = ["examples:"]
    for line, what in examples:
        lines += [f"  {line}", *textwrap.wrap(what, 74, initial_indent="      ",
                                              subsequent_indent="      ")]  # fmt: skip
    return "\n".join(lines)


def command(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    examples: Examples,
    handler: Handler | None = None,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand (or a group of them) with its help line, description and examples."""
    parser = group.add_parser(
        name,
        help=help,
        description=_paragraphs(description or help[0].upper() + help[1:] + "."),
        epilog=_examples(examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackprep",
        description=_paragraphs(
            "Interview-prep quiz bot for Full Stack Python Developer interviews. With no "
            "command: serve Discord and/or Telegram when their tokens are set "
            "(STACKPREP_DISCORD_TOKEN, STACKPREP_TELEGRAM_TOKEN), else start the console quiz."
            "\n\nEvery setting comes from the defaults, then the config file, then "
            "STACKPREP_<SECTION>_<KEY> environment variables; `stackprep config show` prints "
            "the result. Exit codes: 0 done, 1 failed, 2 bad usage, configuration or bank."
        ),
        epilog=_examples(
            [
                ("stackprep", "the console quiz (no tokens set) or the bot"),
                ("stackprep --config /etc/stackprep.toml run", "the bot with a config file"),
                ("STACKPREP_CONFIG=stackprep.toml stackprep", "a config file from the environment"),
                ("stackprep COMMAND --help", "a command's options and examples"),
            ]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stackprep {_version()}")
    parser.add_argument(
        "--config", type=Path, metavar="PATH",
        help="TOML config file (default: $STACKPREP_CONFIG, else built-in defaults); "
        "see config.example.toml",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    command(
        sub, "run", help="run the bot (the default)", handler=_run,
        description="Serve Discord and/or Telegram, each when its token is set "
        "(STACKPREP_DISCORD_TOKEN, STACKPREP_TELEGRAM_TOKEN); with neither, the console quiz. "
        "SIGINT or SIGTERM stops it cleanly: answers already queued are written first.",
        examples=[
            ("STACKPREP_TELEGRAM_TOKEN=123:abc stackprep run", "serve Telegram"),
            ("STACKPREP_LOG_FORMAT=json stackprep run", "log one JSON object per line"),
        ],
    )  # fmt: skip
    command(
        sub, "console", help="the terminal quiz, even when platform tokens are set",
        handler=_run,
        examples=[
            ("stackprep console", "type /question, answer with A-D, then /score"),
            ("printf '/question\\nA\\n/score\\n' | stackprep console", "a piped session"),
        ],
    )  # fmt: skip
    _questions(sub)
    _database(sub)
    _daily(sub)
    _health(sub)
    _discord(sub)
    _config(sub)
    return parser


def _questions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    questions = command(
        sub, "questions", help="check, count and export the bank; people's reports",
        examples=[("stackprep questions check", "validate the bank in use")],
    )  # fmt: skip
    group = questions.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = command(
        group, "check", help="validate question files; exit 1 on any problem",
        handler=_questions_check,
        description="Validate the question files: problems (exit 1), then warnings (what "
        "the free-text grader needs, giveaways such as a right option that is often the "
        "longest, questions that share key points), which pass unless --strict.",
        examples=[
            ("stackprep questions check", "the bank in use ([quiz] questions_dir)"),
            ("stackprep questions check questions/asyncio.toml", "one file"),
            ("stackprep questions check --strict", "warnings fail the check too (exit 1)"),
        ],
    )  # fmt: skip
    check.add_argument(
        "path", nargs="?", type=Path,
        help="a directory or one .toml file (default: the bank in use)",
    )  # fmt: skip
    check.add_argument(
        "--strict", action="store_true", help="count warnings as problems: exit 1 on any"
    )
    stats = command(
        group, "stats", help="questions per topic and difficulty", handler=_questions_stats,
        examples=[("stackprep questions stats", "a table of the bank in use")],
    )  # fmt: skip
    stats.add_argument(
        "path", nargs="?", type=Path, help="a directory of question files (default: in use)"
    )
    export = command(
        group, "export",
        help="write the bank for Anki (text or .apkg), Moodle (GIFT) or as JSON",
        handler=_questions_export,
        description="Write the whole bank in another format: anki (a tab-separated text file "
        "for Anki's import), apkg (an Anki package, imported with one tap), gift (Moodle) or "
        "json. A file is written whole or not at all.",
        examples=[
            ("stackprep questions export --format apkg -o stackprep.apkg", "an Anki package"),
            ("stackprep questions export --format json > bank.json", "JSON on stdout"),
        ],
    )  # fmt: skip
    export.add_argument(
        "--format", choices=[*EXPORT_FORMATS], required=True, help="the format to write"
    )
    export.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="file to write (default: stdout)"
    )
    export.add_argument(
        "path", nargs="?", type=Path, help="a directory of question files (default: in use)"
    )
    reports = command(
        group, "reports", help="people's reports of wrong, unclear or outdated questions",
        handler=_questions_reports,
        description="List the reports people sent with the Report button (or /report), "
        "grouped by question: its topic, how many are open, the count per reason and every "
        "note. A question with 3 or more open reports is held out of daily picks and games "
        "until `stackprep questions resolve` closes them.",
        examples=[
            ("stackprep questions reports --open", "what is waiting for you"),
            ("stackprep questions reports", "everything, resolved reports too"),
        ],
    )  # fmt: skip
    reports.add_argument("--open", action="store_true", help="only the open reports")
    resolve = command(
        group, "resolve", help="close a question's open reports with a note",
        handler=_questions_resolve,
        description="Close every open report of one question, with a note saying what was "
        "done (fixed in the bank, or why it stays). The question goes back into daily picks "
        "and games (a running bot sees it within a minute); people may report it again.",
        examples=[
            ('stackprep questions resolve dj-template-autoescape-default --note "fixed"',
             "close its open reports"),
        ],
    )  # fmt: skip
    resolve.add_argument("question_id", metavar="ID", help="the question's id")
    resolve.add_argument("--note", required=True, help="what was done (at most 500 characters)")


def _database(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = command(
        sub, "db", help="database maintenance",
        examples=[("stackprep db backup backups/stackprep.db", "a consistent copy")],
    )  # fmt: skip
    group = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(
        group, "migrate", help="apply pending schema migrations (every start does too)",
        handler=_db_migrate,
        examples=[("STACKPREP_DATABASE_PATH=/data/stackprep.db stackprep db migrate", "")],
    )  # fmt: skip
    backup = command(
        group, "backup", help="online backup of the database (safe while the bot runs)",
        handler=_db_backup,
        description="Copy the database with SQLite's online backup API: one consistent "
        "snapshot, safe while the bot runs. The copy is written beside the target, checked "
        "with PRAGMA integrity_check and only then renamed into place, so a failure leaves no "
        "partial file; an existing target is replaced only if it is a Stackprep database. "
        "Scheduled backups: [database] backup_every and backup_keep.",
        examples=[("stackprep db backup /backups/stackprep-$(date +%F).db", "a dated copy")],
    )  # fmt: skip
    backup.add_argument("target", type=Path, help="the file to write the copy to")
    check = command(
        group, "check", help="check the database (or a backup) for damage; exit 1 if damaged",
        handler=_db_check,
        description="Run PRAGMA quick_check (with --full, integrity_check, which also matches "
        "every index to its table and takes a few times longer) on the database, read-only: "
        "safe while the bot runs. Exit 0 when it is sound, 1 when it is damaged or not a "
        "Stackprep database.",
        examples=[
            ("stackprep db check", "the configured database, quickly"),
            ("stackprep db check --full data/backups/stackprep-20260301T040000Z.db", "a backup"),
        ],
    )  # fmt: skip
    check.add_argument("--full", action="store_true", help="integrity_check instead of quick_check")
    check.add_argument(
        "path", nargs="?", type=Path, help="the file to check (default: [database] path)"
    )
    restore = command(
        group, "restore", help="put a backup in place of the database (with the bot stopped)",
        handler=_db_restore,
        description="Replace the database with a backup. Refused while the bot (or any "
        "stackprep command) has the database open. The backup is copied beside the database "
        "and checked (a Stackprep database, not newer than this Stackprep, integrity_check) "
        "first; the database it replaces is kept, renamed "
        "<name>.before-restore-<UTC time>, with its -wal.",
        examples=[
            ("stackprep db restore data/backups/stackprep-20260301T040000Z.db", "the usual"),
        ],
    )  # fmt: skip
    restore.add_argument("backup", type=Path, help="the backup file to restore")
    copy = command(
        group, "copy", help="copy a SQLite database into an empty PostgreSQL database",
        handler=_db_copy,
        description="Copy everything of a SQLite database (players, answers, boards, "
        "rounds, daily schedules and deliveries, practice cards and sessions, games, reports, "
        "a community's questions) into an empty PostgreSQL database, with the same values "
        "and ids, in one transaction, committed only once every table's row count and the "
        "boards' totals equal the source's (it prints them). The source is only read (stop "
        "the bot first, "
        "or answers after the copy began stay behind); a target holding any Stackprep rows "
        "is refused. The password is never printed: put it in STACKPREP_DATABASE_URL "
        "rather than on the command line.",
        examples=[
            ("STACKPREP_DATABASE_URL=postgresql://stackprep:PASSWORD@db:5432/stackprep "
             "stackprep db copy --from sqlite:///data/stackprep.db",
             "into the database the bot will use"),
            ("stackprep db copy --from /data/stackprep.db "
             "--to postgresql://stackprep@127.0.0.1:5432/stackprep",
             "a plain path; the password from PGPASSWORD or ~/.pgpass"),
        ],
    )  # fmt: skip
    copy.add_argument(
        "--from", dest="source", metavar="SQLITE",
        help="sqlite:///PATH or a path (default: [database] path)",
    )  # fmt: skip
    copy.add_argument(
        "--to", dest="target", metavar="POSTGRESQL",
        help="postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (default: [database] url, "
        "STACKPREP_DATABASE_URL)",
    )  # fmt: skip


def _daily(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    daily = command(
        sub, "daily", help="the daily question",
        examples=[("stackprep daily list", "every place's schedule")],
    )  # fmt: skip
    group = daily.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(
        group, "list", help="every place's daily schedule, its next post and state",
        handler=_daily_list, examples=[("stackprep daily list", "")],
    )  # fmt: skip


def _health(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = command(
        sub, "health",
        help="ask the running bot's /healthz ([ops] listen); exit 0 if healthy, else 1",
        handler=_health_check,
        description="Ask the running bot's /healthz at [ops] listen and print one line: what "
        "is healthy, or why not. Exit 0 when healthy, 1 otherwise.",
        examples=[
            ("stackprep health", "the listener of [ops] listen"),
            ("stackprep health --listen 127.0.0.1:9108", "a given listener"),
        ],
    )  # fmt: skip
    health.add_argument(
        "--listen", type=health_cli.listen_arg, metavar="HOST:PORT",
        help="the listener to ask (default: [ops] listen of the configuration)",
    )  # fmt: skip
    health.add_argument(
        "--timeout", type=float, default=health_cli.TIMEOUT, metavar="SECONDS",
        help=f"give up after this long (default: {health_cli.TIMEOUT:g})",
    )  # fmt: skip


def _discord(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    discord = command(
        sub, "discord", help="Discord setup",
        examples=[("stackprep discord sync", "register the slash commands")],
    )  # fmt: skip
    group = discord.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = command(
        group, "sync",
        help="register the slash commands with Discord (run after install or upgrade)",
        handler=_discord_sync,
        examples=[
            ("stackprep discord sync", "everywhere; Discord may take up to an hour"),
            ("stackprep discord sync --guild 123456789012345678", "one server, at once"),
        ],
    )  # fmt: skip
    sync.add_argument(
        "--guild", type=int, metavar="ID", help="register in this server only, instantly"
    )


def _config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = command(
        sub, "config", help="the configuration in effect",
        examples=[("stackprep config show", "every setting and where it came from")],
    )  # fmt: skip
    group = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(
        group, "show",
        help="print the configuration in effect, as TOML, with where each value came from",
        handler=_config_show,
        description="Print every setting in effect as TOML, secrets masked, each with where "
        "its value came from: default, file, or environment (and which variable).",
        examples=[
            ("stackprep --config stackprep.toml config show", "with a file"),
            ("STACKPREP_DAILY_TIME=07:30 stackprep config show", "an override at work"),
        ],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(f"stackprep: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log.level, config.secret_values(), config.log.format)
    for note in config.notes:
        log.warning("configuration: %s", note)
    handler: Handler = getattr(args, "handler", _run)
    try:
        return handler(args, config)
    except CommandFailed as exc:
        print(f"stackprep: {exc}", file=sys.stderr)
        return 1
    except BankError as exc:
        print(f"stackprep: {exc}", file=sys.stderr)
        return 2
    except StorageUnavailable as exc:  # 1, not 2: a lock or a restore passes, so restart
        print(f"stackprep: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- handlers: (args, config) -> exit code -----------------------------------------------------


def _run(args: argparse.Namespace, config: Config) -> int:
    from bot.app import run as runtime

    try:
        return asyncio.run(runtime.run(config, console=args.command == "console"))
    except AdapterError as exc:
        log.error("%s", exc)
        return 1


def _questions_check(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import bank

    return bank.check(args.path or config.quiz.questions_dir, sys.stdout, strict=args.strict)


def _questions_stats(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import bank

    return bank.stats(args.path or config.quiz.questions_dir, sys.stdout)


def _questions_export(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import bank

    path = args.path or config.quiz.questions_dir
    return bank.export(path, args.format, args.output, sys.stdout)


def _questions_reports(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import reports

    return asyncio.run(reports.list_reports(config, sys.stdout, open_only=args.open))


def _questions_resolve(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import reports

    return asyncio.run(reports.resolve(config, args.question_id, args.note, sys.stdout))


def _db_migrate(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import db

    return asyncio.run(db.migrate(config, sys.stdout))


def _db_backup(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import db

    return asyncio.run(db.backup(config, args.target, sys.stdout))


def _db_check(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import db

    return asyncio.run(db.check(config, args.path, args.full, sys.stdout))


def _db_restore(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import db

    return asyncio.run(db.restore(config, args.backup, sys.stdout))


def _db_copy(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import copy

    return asyncio.run(copy.copy(config, args.source, args.target, sys.stdout))


def _daily_list(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import daily

    return asyncio.run(daily.list_places(config, sys.stdout))


def _health_check(args: argparse.Namespace, config: Config) -> int:
    return health_cli.check(
        config, sys.stdout, sys.stderr, listen=args.listen, timeout=args.timeout
    )


def _discord_sync(args: argparse.Namespace, config: Config) -> int:
    from bot.app import run as runtime

    guild: int | None = args.guild
    try:
        names = asyncio.run(runtime.sync_discord(config, guild))
    except AdapterError as exc:
        log.error("%s", exc)
        return 1
    where = f"in server {guild}" if guild else "globally"
    print(f"registered {len(names)} commands {where}: " + " ".join(f"/{n}" for n in names))
    return 0


def _config_show(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import config as config_cli

    return config_cli.show(config, sys.stdout)
