"""Running the console quiz as a user does: `python -m bot` in a subprocess, stdin piped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.fakes.paths import TEST_BANK


def run_console(tmp_path: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n[database]\npath = "q.db"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
        check=False,
    )  # fmt: skip


def answer_all_right(out: str) -> str:
    """Pick the right letter for the question printed last, from the test bank's answers."""
    rights = {"len()", "[1, 2, 3]", "One thread runs bytecode at a time; I/O releases the lock",
              "GET", "201 Created"}  # fmt: skip
    options = re.findall(r"^([A-D])\) (.+)$", out, re.M)
    return next(label for label, text in options[-4:] if text.strip() in rights)
