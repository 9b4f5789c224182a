"""Logging setup. httpx logs full request URLs, and Telegram URLs contain the bot token."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable


class RedactingFilter(logging.Filter):
    """Replaces any configured secret that still slips into a record with '********'."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "********")
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self._secrets:
                text = text.replace(secret, "********")
            record.exc_text, record.exc_info = text, None
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "discord.http", "discord.gateway"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
