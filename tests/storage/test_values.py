"""The JSON the SQLite repositories hand to `json_each` (bot/storage/sqlite/values.py):
whatever goes in, SQLite reads back exactly, as with the json module it replaced."""

from __future__ import annotations

import json
import sqlite3

from hypothesis import example, given
from hypothesis import strategies as st

from bot.storage.sqlite.values import from_json, json_text

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # past 64 bits orjson refuses: json writes it
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=()))  # lone surrogates too: orjson refuses
)
_ROWS = st.lists(st.lists(_SCALARS, max_size=6) | st.tuples(_SCALARS, _SCALARS), max_size=8)


@given(_ROWS)
def test_sqlite_reads_back_what_json_text_wrote(rows: list[object]) -> None:
    text = json_text(rows)
    assert isinstance(text, str)  # a BLOB would be no JSON to SQLite 3.40
    conn = sqlite3.connect(":memory:")
    (echoed,) = conn.execute("SELECT json(?)", (text,)).fetchone()
    conn.close()
    assert json.loads(echoed) == json.loads(json.dumps(rows))


@given(_ROWS)
@example([["\ud800"]])  # SQLite's json() keeps the escape; orjson refuses it, json reads it
def test_from_json_reads_what_sqlite_builds(rows: list[object]) -> None:
    conn = sqlite3.connect(":memory:")
    (built,) = conn.execute(
        "SELECT json_group_array(json(value)) FROM json_each(?)", (json.dumps(rows),)
    ).fetchone()
    conn.close()
    assert from_json(built) == json.loads(built)  # lone surrogates too (json reads those)
