"""Property-based checks of the question-file parser, an untrusted input (contributors' and
communities' files): whatever a file holds, the validator reports problems by file and id and
never raises."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.bank.question_bank import check_directory
from bot.core.bank.questions import parse_topic_file
from tests.fakes.paths import TEST_BANK

VALID = (TEST_BANK / "alpha.toml").read_text(encoding="utf-8")
ASSIGNMENTS = [m.start() for m in re.finditer(r"^[a-z_]+ = ", VALID, flags=re.MULTILINE)]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.text(max_size=120).map(json.dumps),  # a TOML basic string (JSON escapes are valid TOML)
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "1979-05-27", "07:32:00", "inf", "nan"]),
)
literals = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: f"[{', '.join(xs)}]"),
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=3).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=8,
)


def _problems_name_the_file(parsed_issues: tuple[str, ...], name: str) -> bool:
    return all(issue.startswith(name) for issue in parsed_issues)


@FAST
@given(st.text(max_size=2000))
def test_any_text_is_parsed_or_reported(text: str) -> None:
    parsed = parse_topic_file(text, "questions/any.toml")
    assert parsed.issues or parsed.topic is not None
    assert _problems_name_the_file(parsed.issues, "questions/any.toml")


@FAST
@given(st.sampled_from(ASSIGNMENTS), literals)
def test_any_value_in_place_of_a_valid_one_is_reported_not_raised(start: int, value: str) -> None:
    """A valid file with one `key = value` replaced by any TOML value (a wrong type, an empty
    list, a huge number, a nested table...)."""
    line_end = VALID.index("\n", start)
    key = VALID[start:line_end].split(" = ", 1)[0]
    text = f"{VALID[:start]}{key} = {value}{VALID[line_end:]}"
    parsed = parse_topic_file(text, "alpha.toml")
    assert _problems_name_the_file(parsed.issues, "alpha.toml")
    if not parsed.issues:  # accepted: then it is a well-formed topic
        assert parsed.topic is not None and parsed.questions


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_in_a_question_folder_are_reported_not_raised(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "broken.toml").write_bytes(data)
        _, _, issues = check_directory(Path(folder))
    assert issues  # bytes never make a whole, valid topic with questions by chance
    assert all("broken.toml" in issue for issue in issues)
