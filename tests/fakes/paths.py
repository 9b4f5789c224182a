"""Where the test data and the repository are."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).parent.parent.parent
DATA = REPO / "tests" / "data"
TEST_BANK = DATA / "bank"
