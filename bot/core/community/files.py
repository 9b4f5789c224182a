"""A community's question file: checked whole before anything is imported, stored as data,
exported back as TOML.

The file is the shipped bank's format (docs/question-format.md), read by the bank's own
validator with its community profile (multiple choice only: `model_answer`, `key_points`,
`misconceptions`, `references` and a wrong choice's `why` are optional). On top of it: at
most MAX_FILE_BYTES of UTF-8 text, no shipped topic's slug, ids unique in the file and in the
community, at most MAX_QUESTIONS per community, no text that could ping anyone (`@everyone`,
`@here`, `<@...>`, `<@&...>`, `<#...>`) in any field, and every link https (in code too,
except links to localhost and private addresses, which a code sample may show but no client
opens from a code block). Every problem is listed: file, question id, what is wrong.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import tomli_w

from bot.core.bank.library import community_question_id
from bot.core.bank.questions import (
    ParsedFile,
    Question,
    Topic,
    parse_topic_data,
)
from bot.core.common.errors import QuizError
from bot.core.community import texts
from bot.core.community.model import StoredQuestion, StoredTopic

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1024 * 1024  # 1 MB
MAX_QUESTIONS = 500  # per community, every topic together
MAX_TITLE = 60  # a topic's title (an autocomplete entry holds 100 characters)
MAX_FILENAME = 60  # characters of an uploaded file's name shown back
_PING = re.compile(r"@(?:everyone|here)\b|<[@#]", re.IGNORECASE)
_LINK = re.compile(r"\b([a-z][a-z0-9+.-]{1,15})://([^\s/?#\"'<>]*)", re.IGNORECASE)
_LOCAL_HOSTS = re.compile(
    r"^(?:[^@]*@)?(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\]|10\.\d+\.\d+\.\d+|"
    r"192\.168\.\d+\.\d+|[\w.-]+\.(?:local|test|example|internal)|example\.(?:com|org|net))"
    r"(?::\d+)?$",
    re.IGNORECASE,
)


class FileRejected(QuizError):
    """A file that cannot be imported; `problems` lists why (the message shows them, cut to
    fit one message)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(texts.rejected(self.problems))


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A valid file: its topic, its questions (ids already `<scope>/<local id>`) and what is
    stored of each."""

    topic: Topic
    questions: tuple[Question, ...]
    stored: tuple[StoredQuestion, ...]


def shown_filename(name: str | None) -> str:
    """An uploaded file's name as problems name it: its last path part, without control or
    format characters, at most MAX_FILENAME characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        ch for ch in base if unicodedata.category(ch)[0] not in "CZ" or ch == " "
    ).strip()
    return kept[:MAX_FILENAME] or "questions.toml"


def decode_text(data: bytes, filename: str) -> str:
    """The file as text: UTF-8 (a byte order mark is dropped), no NUL or other binary control
    bytes; else FileRejected saying it is not a text file."""
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected([texts.too_big(filename, len(data), MAX_FILE_BYTES)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            [texts.not_text(filename, f"byte {exc.start + 1} is not UTF-8")]
        ) from None
    binary = next((i for i, ch in enumerate(text) if ch < " " and ch not in "\t\n\r"), None)
    if binary is not None:
        raise FileRejected([texts.not_text(filename, f"character {binary + 1} is a control code")])
    return text


def check_file(
    text: str,
    filename: str,
    *,
    scope: str,
    shipped_topics: Collection[str],
    existing: Mapping[str, Collection[str]],
) -> CheckedFile:
    """Validate a community's file whole; FileRejected listing every problem.

    `shipped_topics`: the bank's slugs (a community may not take one); `existing`: the
    community's topics now -> their questions' local ids (the file's own topic is replaced,
    the others stay: their ids are taken, their questions count toward the limit)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # nothing else can be checked
        raise FileRejected([texts.not_toml(filename, str(exc))]) from None
    parsed = parse_topic_data(data, filename, community=True)
    problems = list(parsed.issues)
    topic = parsed.topic or Topic("topic", "")
    if topic.slug in shipped_topics:
        problems.append(texts.shipped_topic(filename, topic.slug))
    if len(topic.title) > MAX_TITLE:
        problems.append(texts.title_too_long(filename, len(topic.title), MAX_TITLE))
    elsewhere = {q: slug for slug, ids in existing.items() if slug != topic.slug for q in ids}
    other_count = len(elsewhere)
    raw = data.get("questions")
    raw_questions = [q for q in raw if isinstance(q, dict)] if isinstance(raw, list) else []
    problems += _id_problems(raw_questions, filename, topic.slug, elsewhere)
    problems += [texts.in_field(filename, where, p) for where, p in _text_problems(data)]
    if not raw_questions and not problems:
        problems.append(texts.no_questions(filename))
    total = other_count + len(raw_questions)
    if total > MAX_QUESTIONS:
        problems.append(texts.too_many(filename, len(raw_questions), other_count, MAX_QUESTIONS))
    if problems:
        raise FileRejected(problems)
    return _checked(parsed, scope)


def _checked(parsed: ParsedFile, scope: str) -> CheckedFile:
    assert parsed.topic is not None
    return CheckedFile(
        parsed.topic,
        tuple(replace(q, id=community_question_id(scope, q.id)) for q in parsed.questions),
        tuple(StoredQuestion(q.id, json.dumps(to_data(q), ensure_ascii=False))
              for q in parsed.questions),
    )  # fmt: skip


def _id_problems(
    raw: list[dict[str, Any]], filename: str, slug: str, elsewhere: Mapping[str, str]
) -> list[str]:
    problems: list[str] = []
    first: dict[str, int] = {}
    for n, q in enumerate(raw, 1):
        qid = q.get("id")
        if not isinstance(qid, str):
            continue
        if qid in first:
            problems.append(texts.duplicate_in_file(filename, qid, first[qid]))
        else:
            first[qid] = n
        other = elsewhere.get(qid)
        if other is not None and other != slug:
            problems.append(texts.duplicate_in_community(filename, qid, other))
    return problems


def _strings(value: object, where: str, key: str) -> Iterator[tuple[str, str, str]]:
    """Every string inside `value`: (where, its key, the string)."""
    if isinstance(value, str):
        yield where, key, value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, where, key)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, where, str(k))


def _text_problems(data: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    """(question id or None for the file's own keys, what is wrong) for every ping and every
    link that is not https, in any field."""
    parts: list[tuple[str | None, object]] = [
        (None, {k: v for k, v in data.items() if k != "questions"})
    ]
    raw = data.get("questions")
    if isinstance(raw, list):
        for n, q in enumerate(raw, 1):
            qid = q.get("id") if isinstance(q, dict) else None
            parts.append((qid if isinstance(qid, str) else f"question {n}", q))
    for where, value in parts:
        for _, key, text in _strings(value, where or "", ""):
            yield from ((where, p) for p in text_problems(text, key))


def text_problems(text: str, key: str = "") -> list[str]:
    """What in one field could ping someone or is a link that is not https."""
    problems = [texts.ping(key, m.group()) for m in _PING.finditer(text)][:3]
    for m in _LINK.finditer(text):
        scheme, host = m.group(1).casefold(), m.group(2)
        if scheme != "https" and not (key == "code" and _LOCAL_HOSTS.match(host)):
            problems.append(texts.not_https(key, m.group()))
    return problems


def to_data(q: Question) -> dict[str, Any]:
    """A question's fields as the bank's TOML has them (the optional ones only when set),
    with its local id: what parse_topic_data reads back as the same question."""
    local = q.id.rpartition("/")[2]
    data: dict[str, Any] = {"id": local, "difficulty": q.difficulty, "prompt": q.prompt}
    if q.code is not None:
        data["code"] = q.code
        if q.language != "python":
            data["language"] = q.language
    data["explanation"] = q.explanation
    if q.model_answer:
        data["model_answer"] = q.model_answer
    if q.references:
        data["references"] = list(q.references)
    if q.tags:
        data["tags"] = list(q.tags)
    data["choices"] = [
        {"text": c.text, **({"correct": True} if c.correct else {}),
         **({"why": c.why} if c.why else {})}
        for c in q.choices
    ]  # fmt: skip
    if q.key_points:
        data["key_points"] = [{"point": k.point, "phrases": list(k.phrases)} for k in q.key_points]
    if q.misconceptions:
        data["misconceptions"] = [
            {"phrases": list(m.phrases), "feedback": m.feedback} for m in q.misconceptions
        ]
    return data


def loaded_topic(topic: StoredTopic) -> tuple[Topic, tuple[Question, ...]]:
    """A stored topic as the library holds it (ids `<scope>/<local id>`). A stored question
    the validator refuses now (a stricter release, a damaged row) is left out and logged; the
    rest load."""
    questions: list[Any] = []
    for sq in topic.questions:
        try:
            questions.append(json.loads(sq.data))
        except ValueError:
            log.warning("community %s: stored question %s is not JSON; left out",
                        topic.scope, sq.local_id)  # fmt: skip
    data = {"topic": topic.slug, "title": topic.title, "questions": questions}
    parsed = parse_topic_data(data, f"{topic.slug}.toml", community=True)
    if parsed.issues:
        log.warning("community %s: topic %s: %d stored problem(s), first: %s; those questions "
                    "are left out", topic.scope, topic.slug, len(parsed.issues),
                    parsed.issues[0])  # fmt: skip
    return Topic(topic.slug, topic.title), tuple(
        replace(q, id=community_question_id(topic.scope, q.id)) for q in parsed.questions
    )


def export_toml(topic: Topic, questions: Sequence[Question]) -> bytes:
    """A topic's file, as `/questions import` takes it back."""
    doc = {"topic": topic.slug, "title": topic.title, "questions": [to_data(q) for q in questions]}
    body = tomli_w.dumps(doc, multiline_strings=True)
    return (texts.EXPORT_HEADER + body).encode("utf-8")
