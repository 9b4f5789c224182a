"""[database] url: the checks of a PostgreSQL URL as the configuration reads it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

ENV_DATABASE_URL = "STACKPREP_DATABASE_URL"  # may carry the password


def database_url(v: Any) -> str:
    """[database] url: a postgresql:// URL (several processes on one PostgreSQL database).
    In the file without a password: that comes from STACKPREP_DATABASE_URL, PGPASSWORD or
    ~/.pgpass (the driver reads both)."""
    expected = "a URL such as postgresql://stackprep@127.0.0.1:5432/stackprep"
    if not isinstance(v, str) or not v.strip():
        raise ValueError(expected)
    url = v.strip()
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"{expected} (SQLite needs no URL: set [database] path)")
    rest = url.split("://", 1)[1]
    if "@" in rest and any(c in rest.rsplit("@", 1)[0] for c in "@/?#"):
        # URL parsers disagree on where such a user part ends (the driver might then take
        # part of the password for the host): have it encoded
        raise ValueError(
            f"{expected}, with @ / ? # in the user name or password percent-encoded "
            "(%40 %2F %3F %23)"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        raise ValueError(expected) from None
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError(f"{expected}: it names no host")
    if not parts.path.strip("/"):
        raise ValueError(f"{expected}: it names no database")
    return url


def no_password(url: str) -> str:
    """A URL from the configuration file: a password there is refused (a secret is read only
    from the environment)."""
    if urlsplit(url).password or "password=" in urlsplit(url).query:
        raise ValueError(
            "a URL without a password: a password is a secret, read only from the "
            f"environment ({ENV_DATABASE_URL}, or PGPASSWORD)"
        )
    return url
