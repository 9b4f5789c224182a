"""How the SQLite repositories store values SQLite has no type for.

Moments are UTC POSIX timestamps (REAL columns): they sort and compare in SQL as numbers, and
every table and index of the schema is built on that, so all repositories use these two.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from bot.storage.rows.values import from_ts, to_ts  # shared with PostgreSQL

__all__ = ["Params", "from_json", "from_ts", "json_text", "to_ts"]

Params = tuple[Any, ...] | dict[str, Any]
"""A statement's parameters: positional (`?`) or named (`:name`)."""


def json_text(value: Any) -> str:
    """`value` (lists, tuples, str, int, float, None) as JSON text for SQLite's `json_each`.

    orjson, not json: a chunk of answers is encoded on the writer's thread, which holds the
    GIL meanwhile, and json.dumps was 30% of that thread's Python at full load (issue 17).
    Text, not bytes: SQLite 3.40's JSON functions refuse a BLOB. What orjson refuses (a lone
    surrogate in a string, an int past 64 bits) json writes as it always did.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def from_json(text: str) -> Any:
    """JSON text that SQLite built (`json_group_array`) back into lists (orjson; json for the
    lone surrogate orjson refuses)."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError
        return json.loads(text)
