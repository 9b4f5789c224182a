"""The Library: the shipped QuestionBank plus each community's own questions.

A community's question `my-q` is known everywhere inside the bot as `<scope>/my-q`, its scope
being the community's (`ChatRef.scope`: `discord:123`, `telegram:-100`). Shipped ids (ID_RE)
never contain `/` or `:`, so the two can never collide, and rounds, answers, the repeat cap
and every stored question id work unchanged. A community's topics keep their own slugs (none
may be a shipped topic's: refused on import).

- `get(question_id)`: any question, shipped or a community's, by id: one dict lookup (the
  answer path calls it; it never awaits).
- `for_scope(scope)`: the bank a place picks from: the shipped bank merged with that
  community's own questions (built on first use, kept in a small LRU, dropped when that
  community changes); the shipped bank itself for a DM or a community without questions.
- `set_community(scope, topics, questions)`: replace one community's set (after an import, a
  removal or an approval; every community's set is loaded when the app opens).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.bank.question_bank import QuestionBank, TopicInfo
from bot.core.bank.questions import Question, Topic
from bot.core.common.identity import ChatRef, Platform, community_scope

SEPARATOR = "/"  # between a community's scope and its own local question id
CONSOLE_SCOPE = community_scope(Platform.CONSOLE, "console")
_BANK_CACHE = 128  # merged banks kept (about 25 KB each over the 537 shipped; 0.15 ms to build)


def content_scope(chat: ChatRef) -> str | None:
    """Whose own questions a place sees: its community's; a DM's none. The console is a
    community of its own (the person at the terminal runs the bot, so is its admin)."""
    if chat.platform is Platform.CONSOLE:
        return CONSOLE_SCOPE
    return chat.scope


def community_question_id(scope: str, local_id: str) -> str:
    return f"{scope}{SEPARATOR}{local_id}"


def is_community_id(question_id: str) -> bool:
    """A community's own question (never a shipped one: shipped ids have no `/`)."""
    return SEPARATOR in question_id


def split_id(question_id: str) -> tuple[str | None, str]:
    """(scope, local id) of a community's question; (None, id) of a shipped one."""
    scope, sep, local = question_id.rpartition(SEPARATOR)
    return (scope, local) if sep else (None, question_id)


@dataclass(frozen=True, slots=True)
class Community:
    """One community's own questions, as loaded."""

    scope: str
    topics: tuple[Topic, ...]
    questions: tuple[Question, ...]

    @property
    def titles(self) -> dict[str, str]:
        return {t.slug: t.title for t in self.topics}


class Library:
    def __init__(self, shipped: QuestionBank, *, cache_size: int = _BANK_CACHE) -> None:
        self.shipped = shipped
        self._all: dict[str, Question] = {q.id: q for q in shipped.questions}
        self._communities: dict[str, Community] = {}
        self._banks: OrderedDict[str, QuestionBank] = OrderedDict()
        self._cache_size = cache_size

    def __repr__(self) -> str:
        return f"Library({len(self.shipped)} shipped, {len(self._communities)} communities)"

    # -- lookups ------------------------------------------------------------------------------

    def get(self, question_id: str) -> Question | None:
        """Any question by id, shipped or a community's (sync: one dict lookup)."""
        return self._all.get(question_id)

    def for_scope(self, scope: str | None) -> QuestionBank:
        """The bank of a place: the shipped questions plus its community's own."""
        if scope is None or scope not in self._communities:
            return self.shipped
        bank = self._banks.get(scope)
        if bank is None:
            own = self._communities[scope]
            bank = QuestionBank(
                (*self._shipped_topics(), *own.topics), (*self.shipped.questions, *own.questions)
            )
            self._banks[scope] = bank
            if len(self._banks) > self._cache_size:
                self._banks.popitem(last=False)
        self._banks.move_to_end(scope)
        return bank

    def community(self, scope: str | None) -> Community | None:
        return self._communities.get(scope) if scope is not None else None

    def is_community_topic(self, scope: str | None, slug: str) -> bool:
        own = self.community(scope)
        return own is not None and any(t.slug == slug for t in own.topics)

    def is_shipped_topic(self, slug: str) -> bool:
        return slug in self.shipped.titles

    def title(self, question: Question) -> str:
        """The title of a question's topic (its community's for a community's question)."""
        scope, _ = split_id(question.id)
        own = self.community(scope)
        if own is not None:
            for t in own.topics:
                if t.slug == question.topic:
                    return t.title
        return self.shipped.titles.get(question.topic, question.topic)

    def topic_choices(
        self, scope: str | None, text: str, limit: int = 25
    ) -> list[tuple[TopicInfo, bool]]:
        """Topics matching `text` (slug or title, case-insensitive) for an autocomplete: the
        community's own first, marked True, then the shipped ones; at most `limit`."""
        needle = text.casefold().strip()
        own_bank = self.for_scope(scope)
        own = self.community(scope)
        own_slugs = {t.slug for t in own.topics} if own else set()
        found = [
            (t, t.slug in own_slugs)
            for t in own_bank.topics()
            if needle in t.slug or needle in t.title.casefold()
        ]
        found.sort(key=lambda pair: not pair[1])  # stable: each group stays in slug order
        return found[:limit]

    # -- changes ------------------------------------------------------------------------------

    def set_community(
        self, scope: str, topics: Iterable[Topic], questions: Iterable[Question]
    ) -> None:
        """Replace `scope`'s own questions (none: the community has no questions of its own).
        Every id must be `<scope>/<local id>`; a topic slug may not be a shipped one's."""
        topics, questions = tuple(topics), tuple(questions)
        prefix = scope + SEPARATOR
        for q in questions:
            if not q.id.startswith(prefix) or is_community_id(q.id[len(prefix) :]):
                raise ValueError(f"question {q.id!r} is not one of {scope}'s own")
        for t in topics:
            if self.is_shipped_topic(t.slug):
                raise ValueError(f"topic {t.slug!r} of {scope} is a shipped topic")
        old = self._communities.pop(scope, None)
        if old is not None:
            for q in old.questions:
                self._all.pop(q.id, None)
        self._banks.pop(scope, None)
        if questions or topics:
            self._communities[scope] = Community(scope, topics, questions)
            self._all.update((q.id, q) for q in questions)

    @property
    def scopes(self) -> list[str]:
        """The communities with questions of their own."""
        return sorted(self._communities)

    def _shipped_topics(self) -> list[Topic]:
        return [Topic(slug, title) for slug, title in self.shipped.titles.items()]
