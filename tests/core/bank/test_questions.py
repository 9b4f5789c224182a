from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.bank.question_bank import check_directory, load_bank
from bot.core.bank.questions import count_sentences, parse_topic_file
from bot.core.common.errors import BankError
from tests.fakes.paths import TEST_BANK

GOOD = (TEST_BANK / "beta.toml").read_text()


def issues_of(text: str, name: str = "beta.toml") -> list[str]:
    return list(parse_topic_file(text, name).issues)


def test_test_bank_parses_cleanly() -> None:
    parsed = parse_topic_file(GOOD, "beta.toml")
    assert parsed.issues == ()
    assert [q.id for q in parsed.questions] == ["beta-one", "beta-two"]
    assert parsed.questions[0].correct_index == 0


def test_unknown_key_names_file_and_question() -> None:
    bad = GOOD.replace('id = "beta-one"', 'id = "beta-one"\nanswer = "GET"', 1)
    assert any(i.startswith("beta.toml: beta-one: unknown key 'answer'") for i in issues_of(bad))


def test_two_right_choices_rejected() -> None:
    bad = GOOD.replace('text = "POST"', 'text = "POST"\ncorrect = true', 1)
    assert "beta.toml: beta-one: needs exactly one right choice, has 2" in issues_of(bad)


def test_choice_over_button_limit_rejected() -> None:
    bad = GOOD.replace('text = "DELETE"', f'text = "{"D" * 81}"', 1)
    assert any("81 characters; the limit is 80" in i for i in issues_of(bad))


def test_key_point_must_appear_in_model_answer() -> None:
    bad = GOOD.replace('phrases = ["Location header"]', 'phrases = ["ETag"]', 1)
    assert any(
        "beta-two key point 2: none of the phrases of 'Location header'" in i
        for i in issues_of(bad)
    )


def test_reference_must_be_https() -> None:
    bad = GOOD.replace("https://www.rfc-editor.org/rfc/rfc9110#name-201-created", "ftp://x", 1)
    assert any("reference 'ftp://x' is not an https URL" in i for i in issues_of(bad))


def test_wrong_choice_needs_why_and_explanation_limit() -> None:
    bad = GOOD.replace('why = "DELETE removes a resource."', "", 1)
    bad = bad.replace(
        'explanation = "GET only retrieves', f'explanation = "{"x" * 200}GET only retrieves', 1
    )
    found = issues_of(bad)
    assert any("choice 3: a wrong choice needs a one-line 'why'" in i for i in found)
    assert any("'explanation' is" in i and "the limit is 200" in i for i in found)


def test_topic_must_match_file_name() -> None:
    assert any("file is named gamma.toml" in i for i in issues_of(GOOD, "gamma.toml"))


def test_broken_toml_names_the_file() -> None:
    found = issues_of("topic = \n", "broken.toml")
    assert len(found) == 1 and found[0].startswith("broken.toml: not valid TOML")


def test_sentence_count_ignores_abbreviations() -> None:
    assert count_sentences("Use e.g. a dict. It is fast.") == 2
    assert count_sentences("Call `obj.method()` here. Then stop!") == 2


def test_duplicate_ids_and_near_duplicate_prompts_across_files(tmp_path: Path) -> None:
    (tmp_path / "beta.toml").write_text(GOOD)
    copy = GOOD.replace('topic = "beta"', 'topic = "gamma"').replace(
        "Which status code fits", "Which status code best fits"
    )
    (tmp_path / "gamma.toml").write_text(copy)
    _, _, found = check_directory(tmp_path)
    assert any("gamma.toml: beta-one: duplicate id (also in beta.toml)" in i for i in found)
    assert any("nearly duplicates beta-two" in i for i in found)
    with pytest.raises(BankError) as err:
        load_bank(tmp_path)
    assert "duplicate id" in str(err.value)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="does not exist"):
        load_bank(tmp_path / "nope")
