"""The core depends on nothing outside it but the standard library and small pure packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

CORE = REPO / "bot" / "core"
ALLOWED_THIRD_PARTY = {"rapidfuzz", "aiolimiter", "fsrs"}
FORBIDDEN = ("bot.storage", "bot.adapters", "bot.runtime", "bot.cli", "bot.scheduler", "bot.config")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_core_imports_only_stdlib_and_small_pure_packages() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name.startswith(FORBIDDEN):
                offenders.append(f"{path.name}: {name}")
            elif top == "bot" or top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                continue
            else:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_console_start_does_not_import_platform_or_chart_libraries() -> None:
    """Discord, Telegram and APScheduler load only with a token; matplotlib (and numpy,
    PIL) only when a /progress chart is drawn, so idle memory stays small."""
    code = (
        "import sys, bot, bot.cli.entry, bot.app.run, bot.adapters.console.adapter, "
        "bot.storage.sqlite.database, bot.core.practice.service, bot.storage.sqlite.practice, "
        "bot.adapters.chart;"
        "heavy = [m for m in ('discord', 'telegram', 'apscheduler', 'matplotlib', 'numpy', "
        "'PIL') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"
