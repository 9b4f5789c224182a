"""The architecture, executable: who may import whom (an allowlist), no import cycles among
`bot` modules (lazy and TYPE_CHECKING imports count too), and no module over 500 lines.

The rules are docs/architecture.md's; change both together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.paths import REPO

BOT = REPO / "bot"
CORE_THIRD_PARTY = {"rapidfuzz", "aiolimiter", "fsrs", "genanki", "snowballstemmer", "tomli_w"}
MAX_LINES = 500
QUIZ_SURFACE = "bot.core.quiz"  # daily, practice and delivery import only the package itself

# module prefix -> the `bot` modules it may import (besides its own package and the stdlib)
ALLOWED: dict[str, tuple[str, ...]] = {
    "bot.core.common": (),
    "bot.core.bank": ("bot.core.common",),
    "bot.core.quiz": ("bot.core.common", "bot.core.bank"),
    "bot.core.delivery": ("bot.core.common", QUIZ_SURFACE),
    "bot.core.daily": ("bot.core.common", "bot.core.bank", "bot.core.delivery", QUIZ_SURFACE),
    "bot.core.practice": ("bot.core.common", "bot.core.bank", QUIZ_SURFACE),
    "bot.core.games": ("bot.core.common", "bot.core.bank", "bot.core.delivery", QUIZ_SURFACE),
    "bot.core.community": ("bot.core.common", "bot.core.bank", QUIZ_SURFACE),
    "bot.storage": ("bot.core", "bot.storage.rows"),  # rows: converters both SQL engines use
    "bot.storage.rows": ("bot.core",),
    "bot.jobs": ("bot.core",),
    "bot.adapters": (
        "bot.core",
        "bot.adapters.base",
        "bot.adapters.chart",
        "bot.adapters.download",
        "bot.log",
    ),
    "bot.config": ("bot.core", "bot.settings"),
    "bot.settings": ("bot.core",),
    "bot.log": (),
    "bot.ops": ("bot.core",),
    "bot.llm": ("bot.core.common", "bot.core.practice"),  # the model grader's HTTP client
    "bot.app": ("bot",),
    "bot.cli": ("bot",),
    "bot.__main__": ("bot.cli",),
}
# a package whose own subpackages are separate units: bot.adapters.discord may not import
# bot.adapters.telegram, bot.storage.memory not bot.storage.sqlite
UNITS = ("bot.adapters.", "bot.storage.", "bot.core.")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every module `path` imports, anywhere in it (lazy and TYPE_CHECKING ones included):
    `from package import name` counts as importing package.name when that is a module."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in known else base), node.lineno


def unit_of(name: str) -> str:
    """The unit a module belongs to: bot.core.quiz, bot.adapters.discord, bot.jobs ..."""
    for prefix in UNITS:
        if name.startswith(prefix):
            return prefix + name[len(prefix) :].split(".")[0]
    return ".".join(name.split(".")[:2])


def rule_for(name: str) -> tuple[str, tuple[str, ...]]:
    matches = [p for p in ALLOWED if name == p or name.startswith(p + ".")]
    assert matches, f"{name}: no dependency rule covers this module; add one to ALLOWED"
    prefix = max(matches, key=len)
    return prefix, ALLOWED[prefix]


def allowed(importer: str, target: str) -> bool:
    if unit_of(target) == unit_of(importer):
        return True
    _, may = rule_for(importer)
    return any(
        target == m if m == QUIZ_SURFACE else target == m or target.startswith(m + ".") for m in may
    )


def test_every_import_follows_the_dependency_rules() -> None:
    known = set(modules())
    offenders = []
    for name, path in modules().items():
        core = name.startswith("bot.core")
        for target, line in imports(path, known):
            top = target.split(".")[0]
            if top == "bot":
                if not allowed(name, target):
                    offenders.append(f"{path.relative_to(REPO)}:{line}: {target}")
            elif core and top not in sys.stdlib_module_names and top not in CORE_THIRD_PARTY:
                offenders.append(f"{path.relative_to(REPO)}:{line}: {target} (not pure)")
    assert offenders == []


def test_the_rules_are_not_vacuous() -> None:
    """The checker itself catches what it must (a checker that passes everything is no test)."""
    assert not allowed("bot.core.quiz.service", "bot.core.daily.model")
    assert not allowed("bot.core.daily.service", "bot.core.quiz.service")  # only the surface
    assert allowed("bot.core.daily.service", "bot.core.quiz")
    assert not allowed("bot.adapters.discord.adapter", "bot.app.bootstrap")
    assert not allowed("bot.adapters.discord.adapter", "bot.adapters.telegram.outbox")
    assert not allowed("bot.adapters.console.adapter", "bot.storage.sqlite.database")
    assert not allowed("bot.storage.sqlite.quiz", "bot.jobs.scheduler")
    assert not allowed("bot.core.common.texts", "bot.core.bank.questions")
    assert allowed("bot.adapters.telegram.practice", "bot.adapters.telegram.incoming")
    assert allowed("bot.cli.entry", "bot.storage.sqlite")
    assert not allowed("bot.core.practice.service", "bot.llm.client")  # the core stays pure
    assert not allowed("bot.llm.client", "bot.storage.sqlite")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def import_graph() -> dict[str, set[str]]:
    known = set(modules())
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = {
            target
            for target, _ in imports(path, known)
            if target in known and target != name and target not in own_packages
        }
    return graph


def test_no_import_cycles_among_bot_modules() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_500_lines(name: str) -> None:
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_console_start_does_not_import_platform_or_chart_libraries() -> None:
    """Discord, Telegram and APScheduler load only with a token; matplotlib (and numpy,
    PIL) only when a /progress chart is drawn, so idle memory stays small."""
    code = (
        "import sys, bot, bot.cli.entry, bot.app.run, bot.app.bootstrap, bot.adapters.console;"
        "heavy = [m for m in ('discord', 'telegram', 'apscheduler', 'matplotlib', 'numpy', "
        "'PIL') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"
