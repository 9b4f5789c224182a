"""The Library (shipped bank + each community's own questions) and the validator's community
profile."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.bank.library import (
    CONSOLE_SCOPE,
    Library,
    content_scope,
    is_community_id,
    split_id,
)
from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question, Topic, parse_topic_file
from bot.core.common.identity import ChatRef, Platform
from tests.fakes.community import community_file

SCOPE = "discord:1"


def own(scope: str = SCOPE, *ids: str, topic: str = "acme-stack") -> list[Question]:
    text = community_file(*ids, topic=topic).decode()
    parsed = parse_topic_file(text, "f.toml", community=True)
    assert parsed.issues == ()
    return [replace(q, id=f"{scope}/{q.id}") for q in parsed.questions]


def test_get_finds_shipped_and_community_questions_alike(bank: QuestionBank) -> None:
    library = Library(bank)
    assert library.get("alpha-one") is bank.get("alpha-one")
    assert library.get("discord:1/jobs-one") is None
    questions = own(SCOPE, "jobs-one")
    library.set_community(SCOPE, [Topic("acme-stack", "Acme")], questions)
    assert library.get("discord:1/jobs-one") is questions[0]
    library.set_community(SCOPE, [], [])  # gone again
    assert library.get("discord:1/jobs-one") is None and library.community(SCOPE) is None
    assert library.get("alpha-one") is bank.get("alpha-one")


def test_for_scope_merges_only_that_community(bank: QuestionBank) -> None:
    library = Library(bank, cache_size=1)
    assert library.for_scope(None) is bank and library.for_scope("discord:9") is bank
    library.set_community(SCOPE, [Topic("acme-stack", "Acme")], own(SCOPE, "j-one"))
    library.set_community("discord:2", [Topic("acme-stack", "Other")], own("discord:2", "j-one"))
    first = library.for_scope(SCOPE)
    assert len(first) == len(bank) + 1 and "discord:1/j-one" in first
    assert "discord:2/j-one" not in first and first.titles["acme-stack"] == "Acme"
    assert library.for_scope(SCOPE) is first  # cached
    second = library.for_scope("discord:2")
    assert second.titles["acme-stack"] == "Other"
    assert library.for_scope(SCOPE) is not first  # cache of one: built again, same content
    assert library.for_scope(SCOPE).questions == first.questions
    library.set_community(SCOPE, [Topic("acme-stack", "Acme")], own(SCOPE, "j-two"))
    assert [q.id for q in library.for_scope(SCOPE).candidates("acme-stack", None)] == [
        "discord:1/j-two"
    ]
    assert library.title(own(SCOPE, "j-two")[0]) == "Acme"
    assert library.title(own("discord:2", "j-one")[0]) == "Other"


def test_set_community_refuses_foreign_ids_and_shipped_topics(bank: QuestionBank) -> None:
    library = Library(bank)
    with pytest.raises(ValueError, match="not one of discord:1's own"):
        library.set_community(SCOPE, [], own("discord:2", "j-one"))
    with pytest.raises(ValueError, match="not one of discord:1's own"):
        library.set_community(SCOPE, [], bank.questions[:1])
    with pytest.raises(ValueError, match="is a shipped topic"):
        library.set_community(SCOPE, [Topic("alpha", "A")], own(SCOPE, "j-one"))
    assert library.community(SCOPE) is None


def test_scopes_and_ids() -> None:
    assert content_scope(ChatRef(Platform.DISCORD, "10", "1")) == "discord:1"
    assert content_scope(ChatRef(Platform.TELEGRAM, "5", None)) is None
    assert content_scope(ChatRef(Platform.CONSOLE, "console", None)) == CONSOLE_SCOPE
    assert split_id("telegram:-100/my-q") == ("telegram:-100", "my-q")
    assert split_id("alpha-one") == (None, "alpha-one")
    assert is_community_id("discord:1/x") and not is_community_id("alpha-one")


def test_the_community_profile_makes_free_text_fields_optional() -> None:
    text = community_file("jobs-one").decode()
    assert parse_topic_file(text, "any-name.toml", community=True).issues == ()
    shipped = parse_topic_file(text, "acme-stack.toml").issues
    assert "acme-stack.toml: jobs-one: needs at least one reference to official documentation" in (
        shipped
    )
    assert any("'model_answer' must be a non-empty string" in i for i in shipped)
    assert any("'key_points' must be a list of tables" in i for i in shipped)
    assert any("a wrong choice needs a one-line 'why'" in i for i in shipped)
    named = parse_topic_file(text, "other.toml").issues
    assert "other.toml: 'topic' is 'acme-stack' but the file is named other.toml" in named
    # present, they are checked as in the bank
    extra = 'difficulty = 2\nreferences = ["http://x.io/a"]\nmodel_answer = "One."'
    bad = text.replace("difficulty = 2", extra)
    issues = parse_topic_file(bad, "f.toml", community=True).issues
    assert "f.toml: jobs-one: reference 'http://x.io/a' is not an https URL" in issues
    assert "f.toml: jobs-one: 'model_answer' must be 2-6 sentences, has 1" in issues
