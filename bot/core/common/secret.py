"""A secret string (a platform token) that never shows itself in a repr, a log line or an
error message; only `reveal()` hands the value over, to the client that needs it."""

from __future__ import annotations


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
