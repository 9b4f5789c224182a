"""Parsed question files, kept between starts.

Reading the bank's TOML is most of a start's work that is ours: 0.25 s of tomllib for 537
questions on the 2-core VM (start to ready 1.08 s against a 1 s target; bench/foundation.py
idle). The parsed files are kept as JSON in `bank-cache.json` beside the database (reading it
takes about a tenth as long), keyed by a hash of each file's text, so a file is parsed again
only when its text changed, and validation still runs on every start. A file whose TOML holds
something JSON cannot (a date) is simply parsed each time; a cache that cannot be read or
written is ignored (logged at DEBUG), never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

VERSION = 1  # bump when the cached form changes


class ParsedFiles:
    """A `loads` for `load_bank` that remembers what it parsed; `save` writes it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        try:
            stored = json.loads(path.read_bytes())
            if isinstance(stored, dict) and stored.get("version") == VERSION:
                self._known = dict(stored.get("files") or {})
        except (OSError, ValueError, TypeError) as exc:
            log.debug("no parsed question files at %s (%s)", path, exc)

    def loads(self, text: str) -> dict[str, Any]:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        doc = self._known.get(key)
        if doc is None:
            doc = tomllib.loads(text)  # a TOML error goes to the validator as before
        self._used[key] = doc
        parsed: dict[str, Any] = doc
        return parsed

    def save(self) -> None:
        """Keep the files parsed this time (only those), if anything changed."""
        if self._used.keys() == self._known.keys():
            return
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            blob = json.dumps({"version": VERSION, "files": self._used}).encode()
            temporary.write_bytes(blob)
            temporary.replace(self.path)
        except (OSError, TypeError, ValueError) as exc:  # TypeError: a date JSON cannot hold
            log.debug("could not keep the parsed question files at %s (%s)", self.path, exc)
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
