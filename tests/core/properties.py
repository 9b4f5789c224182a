"""What the property-based tests share: their settings, the "any text" strategy, and a way to
take a call's outcome (its result, or the QuizError it refused with) as a value."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.core.common.errors import QuizError

T = TypeVar("T")

# The whole property suite takes a few seconds: enough examples to find the odd input every
# run, fewer where each example goes through the services and a database.
PROPERTIES = settings(max_examples=100, deadline=None)
THROUGH_SERVICES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# any code point, lone surrogates and control characters included (a platform's JSON may
# carry "\ud800"; a terminal hands over ESC)
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=80)


def attempt(call: Callable[[], T]) -> T | QuizError:
    """`call()`'s result, or the QuizError it raised; any other exception propagates."""
    try:
        return call()
    except QuizError as error:
        return error


async def attempt_async(call: Awaitable[T]) -> T | QuizError:
    try:
        return await call
    except QuizError as error:
        return error


def clear_refusal(error: QuizError) -> bool:
    """A QuizError a person can read: a message of its own, no internals."""
    return bool(error.message.strip()) and "Traceback" not in error.message


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, QuizError):
        yield value.message
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _texts(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _texts(item)


def sendable(outcome: object) -> bool:
    """Every text of a reply (or a refusal's message) encodes as UTF-8: a platform can be sent
    it and a database can store it (a lone surrogate of the input echoed back cannot be)."""
    try:
        for text in _texts(outcome):
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
