"""What the operator tools share: a failure told in one line, and output files written whole
or not at all."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path


class CommandFailed(Exception):
    """A command could not do its work; the message is one line for the operator (exit 1)."""


def write_file(target: Path, write: Callable[[Path], object]) -> None:
    """Let `write` fill a new file beside `target`, then put it in `target`'s place, so a
    failure never leaves a partial or empty file (nor the temporary one). A device or pipe
    (`-o /dev/stdout`) is written directly. Raises CommandFailed naming the path and why."""
    try:
        mode = target.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise CommandFailed(f"cannot write {target}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise CommandFailed(f"cannot write {target}: it is a directory; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        _attempt(target, lambda: write(target))
        return
    if mode is not None and not os.access(target, os.W_OK):
        raise CommandFailed(f"cannot write {target}: permission denied")
    if not target.parent.is_dir():
        problem = "is not a folder" if target.parent.exists() else "does not exist"
        raise CommandFailed(f"cannot write {target}: {target.parent} {problem}")
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        _attempt(target, lambda: write(partial))
        _attempt(target, lambda: os.replace(partial, target))
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _attempt(target: Path, step: Callable[[], object]) -> None:
    try:
        step()
    except OSError as exc:
        raise CommandFailed(f"cannot write {target}: {exc.strerror or exc}") from None
