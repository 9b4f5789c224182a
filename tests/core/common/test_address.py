"""`[ops] listen` and `stackprep health --listen`: host:port parsed strictly, any text either
parsed or refused with what is expected, never another exception."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.common.address import EXPECTED, connectable, parse_listen

ports = st.integers(min_value=0, max_value=65535)


@given(st.ip_addresses(v=4), ports)
def test_ipv4_and_port(ip: ipaddress.IPv4Address, port: int) -> None:
    assert parse_listen(f"{ip}:{port}") == (str(ip), port)


@given(st.ip_addresses(v=6), ports)
def test_ipv6_in_brackets(ip: ipaddress.IPv6Address, port: int) -> None:
    assert parse_listen(f"[{ip.exploded}]:{port}") == (str(ip), port)


@given(
    st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z][a-z0-9]{0,10}){0,3}", fullmatch=True),
    ports,
)
def test_host_names(host: str, port: int) -> None:
    assert parse_listen(f" {host}:{port} ") == (host, port)


@given(st.text(max_size=60))
def test_any_text_is_parsed_or_refused_with_what_is_expected(text: str) -> None:
    try:
        host, port = parse_listen(text)
    except ValueError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:
        assert EXPECTED in refusal
    else:
        assert 0 <= port <= 65535 and host and host == host.strip()
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        assert parse_listen(shown) == (host, port)  # what config show prints reads back


@pytest.mark.parametrize(
    "text",
    ["9108", ":9108", "localhost", "localhost:", "::1:9108", "[::1]:99999", "256.1.1.1:80",
     "127.0.0.1:+80", "127.0.0.1:\u0663", "[not-v6]:80", "-bad-.example:80", "a b:80"],
)  # fmt: skip
def test_refused(text: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_listen(text)


def test_ipv6_without_brackets_says_so() -> None:
    with pytest.raises(ValueError, match="an IPv6 address in brackets"):
        parse_listen("::1:9108")


def test_wildcards_are_asked_on_loopback() -> None:
    assert connectable("0.0.0.0") == "127.0.0.1"
    assert connectable("::") == "::1"
    assert connectable("10.1.2.3") == "10.1.2.3"
