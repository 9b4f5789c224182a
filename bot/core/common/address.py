"""`host:port` as an operator writes it (`[ops] listen`): parsed and checked, never guessed."""

from __future__ import annotations

import ipaddress
import re

_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")  # fmt: skip
EXPECTED = 'host:port, e.g. "127.0.0.1:9108", "0.0.0.0:9108" or "[::1]:9108"'


def parse_listen(text: str) -> tuple[str, int]:
    """`"127.0.0.1:9108"` -> `("127.0.0.1", 9108)`; an IPv6 address goes in brackets
    (`"[::1]:9108"` -> `("::1", 9108)`). Port 0 means any free port. Raises ValueError naming
    what is expected."""
    if not isinstance(text, str):
        raise ValueError(EXPECTED)
    value = text.strip()
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise ValueError(EXPECTED)
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"a port from 0 to 65535 in {EXPECTED}")
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(host[1:-1])), port
        except ValueError:
            raise ValueError(EXPECTED) from None
    if ":" in host:  # an IPv6 address without brackets: the port would be ambiguous
        raise ValueError(f"an IPv6 address in brackets: {EXPECTED}")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return str(ipaddress.IPv4Address(host)), port
        except ValueError:
            raise ValueError(EXPECTED) from None
    if not _HOSTNAME.fullmatch(host):
        raise ValueError(EXPECTED)
    return host, port


def connectable(host: str) -> str:
    """The address a client on this machine uses for a listener bound to `host`: the
    loopback address for the wildcard ones (0.0.0.0, ::), else `host` itself."""
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - mapping the wildcard, not binding it
        return "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    return host
