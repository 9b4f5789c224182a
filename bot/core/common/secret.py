"""A secret string (a platform token) that never shows itself in a repr, a log line or an
error message; only `reveal()` hands the value over, to the client that needs it."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit, urlunsplit


class Secret:
    """A secret string: never shown by repr/str/format; `reveal()` when handing it to a client."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def shown_url(url: str) -> str:
    """A URL as logs and errors may show it: no password, and no query (which may hold one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(a URL that does not parse)"
    user = f"{unquote(parts.username)}@" if parts.username else ""
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", ""))


def password_of(url: str) -> str | None:
    """The password a URL carries, if any (to scrub it from a driver's messages)."""
    try:
        found = urlsplit(url).password
    except ValueError:
        return None
    return unquote(found) if found else None


def passwords_in(url: str) -> list[str]:
    """The password of a URL's user part and any `password=` of its query."""
    try:
        query = parse_qs(urlsplit(url).query).get("password", []) if "?" in url else []
    except ValueError:
        query = []
    return [p for p in (password_of(url), *query) if p]


def scrub(text: str, secrets: list[str], mask: str = "********") -> str:
    """`text` with each secret masked as it is, in upper or lower case and percent-encoded
    (for one-line messages about a URL; the log's Redactor covers every spelling)."""
    for secret in secrets:
        for form in sorted(
            {secret, secret.lower(), secret.upper(), quote(secret, safe=""), quote_plus(secret)},
            key=len,
            reverse=True,
        ):
            text = text.replace(form, mask)
    return text
