"""A reader of Moodle GIFT files that does what Moodle's importer does, so tests can check that
an export reads back as what was exported.

A port of the parts of Moodle's `qformat_gift` (question/format/gift/format.php:
`readquestion`, `escapedchar_pre`/`escapedchar_post`, `parse_text_with_format`,
`commentparser`) and `qformat_default` (question/format.php: `readquestions`,
`split_category_path`) that multiple-choice questions go through, step for step:

- the file is cut at "\\n" only (PHP's `file()`), every line is trimmed, and a blank line
  ends a question; a line starting with // is a comment;
- the escapes are read in one order: "\\\\" first (a literal backslash), then \\: \\# \\= \\{
  \\} \\~ and \\n (a line break); any other backslash stays as it is;
- a field starting with "[html]", "[plain]", "[markdown]" or "[moodle]" takes that format,
  and options, their feedback and the general feedback inherit the question text's format;
- an option starting with "=" is right; "%50%" at an option's start is a weight;
- a $CATEGORY line is taken as it stands (no unescaping) and its path is split at single "/"
  ("//" is one slash).

`shown()` gives what a person sees: the stored text, HTML-unescaped when its format is HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_PHP_TRIM = " \t\n\r\0\x0b"  # what PHP's trim() removes
_FORMATS = {"moodle", "html", "plain", "markdown"}
_WEIGHT = re.compile(r"^%-*([0-9]{1,2})\.?([0-9]*)%")
_ESCAPES = [("\\:", "&&058;"), ("\\#", "&&035;"), ("\\=", "&&061;"), ("\\{", "&&123;"),
            ("\\}", "&&125;"), ("\\~", "&&126;"), ("\\n", "&&010")]  # fmt: skip
_PLACEHOLDERS = [(":", "&&058;"), ("#", "&&035;"), ("=", "&&061;"), ("{", "&&123;"),
                 ("}", "&&125;"), ("~", "&&126;"), ("\n", "&&010")]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    format: str

    def shown(self) -> str:
        return html.unescape(self.text) if self.format == "html" else self.text


@dataclass(frozen=True, slots=True)
class Answer:
    text: Text
    fraction: float
    feedback: Text


@dataclass
class GiftQuestion:
    name: str
    category: list[str]  # the $CATEGORY path in force, split into names
    text: Text
    general_feedback: Text
    answers: list[Answer] = field(default_factory=list)


def _trim(text: str) -> str:
    return text.strip(_PHP_TRIM)


def _pre(text: str) -> str:
    text = text.replace("\\\\", "&&092;")
    for escaped, placeholder in _ESCAPES:
        text = text.replace(escaped, placeholder)
    return text.replace("&&092;", "\\")


def _post(text: str) -> str:
    for char, placeholder in _PLACEHOLDERS:
        text = text.replace(placeholder, char)
    return text


def _with_format(text: str, default: str) -> Text:
    fmt = default
    if text.startswith("["):
        end = text.find("]")
        name = text[1:end] if end != -1 else text[1:-1]  # PHP: substr($text, 1, false - 1)
        if name in _FORMATS:
            fmt, text = name, text[end + 1 :]
    return Text(_trim(_post(text)), fmt)


def split_category_path(path: str) -> list[str]:
    return [_trim(raw.replace("//", "/")) for raw in re.split(r"(?<!/)/(?!/)", path)]


def read_gift(data: str) -> list[GiftQuestion]:
    """Every multiple-choice question of a GIFT file, read the way Moodle reads it."""
    groups: list[list[str]] = []
    current: list[str] = []
    for raw in data.split("\n"):
        line = _trim(raw)
        if line in ("", "0"):  # PHP's empty(): "0" is empty too
            if current:
                groups.append(current)
            current = []
        else:
            current.append(line)
    if current:
        groups.append(current)
    questions: list[GiftQuestion] = []
    category: list[str] = []
    for lines in groups:
        text = _trim("\n".join(" " if line.startswith("//") else line for line in lines))
        text = _pre(text)
        if text.startswith("$CATEGORY:"):
            category = split_category_path(_trim(text[10:]))
            continue
        questions.append(_read_question(text, category))
    return questions


def _read_question(text: str, category: list[str]) -> GiftQuestion:
    name = ""
    if text.startswith("::"):
        text = text[2:]
        end = text.find("::")
        assert end != -1, "a question name without its closing ::"
        name, text = _post(text[:end]), _trim(text[end + 2 :])
    start, finish = text.find("{"), text.find("}")
    assert 0 <= start < finish, f"no answer block in {text!r}"
    answers = _trim(text[start + 1 : finish])
    question_text = text[:start] + text[finish + 1 :]
    general = ""
    if (separator := answers.rfind("####")) != -1:
        general, answers = answers[separator + 4 :], _trim(answers[:separator])
    q_text = _with_format(question_text, "moodle")
    question = GiftQuestion(name, category, q_text, _with_format(general, q_text.format))
    assert "~" in answers, "not a multiple-choice question"
    parts = answers.replace("=", "~=").split("~")
    if parts and not _trim(parts[0]):
        parts = parts[1:]
    for part in parts:
        part = _trim(part)
        if part.startswith("="):
            fraction, part = 1.0, part[1:]
        elif _WEIGHT.match(part):  # answerweightparser: the text between the two % signs
            end = part.index("%", 1)
            weight, part = part[1:end], part[end + 1 :]
            fraction = float(weight) / 100 if re.fullmatch(r"-?[0-9.]+", weight) else 0.0
        else:
            fraction = 0.0
        option, _, feedback = part.partition("#")
        question.answers.append(
            Answer(
                _with_format(_trim(option), q_text.format),
                fraction,
                _with_format(_trim(feedback), q_text.format),
            )
        )
    return question
