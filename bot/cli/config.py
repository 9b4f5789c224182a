"""`stackprep config show`: the configuration in effect, as TOML, with secrets masked and,
per key, where its value came from (default, file, or which environment variable)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from bot.config import Config, sections
from bot.core.common.secret import Secret
from bot.log import MASK


def toml_value(value: Any) -> str:
    """A value as TOML writes it (bool before int: a bool is an int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # TOML's basic string escapes


def render(config: Config) -> str:
    sources = ["defaults", *([str(config.source)] if config.source else []), "STACKPREP_*"]
    lines = [
        f"# Configuration in effect: {', then '.join(sources)} (the last one wins).",
        "# After each key: where its value came from. Secrets are masked.",
    ]
    for section in sections():
        values = getattr(config, section.name)
        rows: list[tuple[str, str]] = []
        for rule in section.settings:
            value = getattr(values, rule.field)
            origin = config.origins.get(f"{section.name}.{rule.key}", "default")
            if isinstance(value, Secret):
                rows.append((f'{rule.key} = "{MASK}"', origin))
                continue
            shown = None if rule.secret else rule.back(value)
            if shown is None:
                where = f"{origin}; only from {section.variable(rule)}" if rule.secret else origin
                rows.append((f"# {rule.key} is not set", where))
            else:
                rows.append((f"{rule.key} = {toml_value(shown)}", origin))
        width = max(len(text) for text, _ in rows)
        lines += ["", f"[{section.name}]"]
        lines += [f"{text:<{width}}  # {origin}" for text, origin in rows]
    return "\n".join(lines) + "\n"


def show(config: Config, out: TextIO) -> int:
    out.write(render(config))
    return 0
