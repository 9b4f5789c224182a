"""A community's question files and proposals for tests (issue 16): a valid file to start from,
and the bad inputs the issue lists, as bytes an admin would upload."""

from __future__ import annotations

from bot.core.community import ProposalFields

TOPIC = "acme-stack"
TITLE = "Acme stack"
FILENAME = "acme.toml"


def question_toml(qid: str, prompt: str | None = None, *, right: str = "Celery",
                  options: tuple[str, ...] = ("Celery", "Cron", "Kafka"),
                  extra: str = "") -> str:  # fmt: skip
    """One `[[questions]]` in the bank's format, multiple choice only (a community's)."""
    choices = "".join(
        f'\n[[questions.choices]]\ntext = "{o}"\n' + ("correct = true\n" if o == right else "")
        for o in options
    )
    return (
        f'\n[[questions]]\nid = "{qid}"\ndifficulty = 2\n'
        f'prompt = "{prompt or f"Which tool runs Acme background jobs ({qid})?"}"\n'
        f'explanation = "Acme queues its jobs on Celery workers."\n{extra}{choices}'
    )


def community_file(*ids: str, topic: str = TOPIC, title: str = TITLE, extra: str = "") -> bytes:
    """A valid community file with one question per id (default: two questions)."""
    body = "".join(question_toml(q, extra=extra) for q in ids or ("jobs-one", "jobs-two"))
    return f'topic = "{topic}"\ntitle = "{title}"\n{body}'.encode()


def proposal(**changes: object) -> ProposalFields:
    """A valid proposal; `changes` replace its fields."""
    fields: dict[str, object] = {
        "prompt": "Which port does Acme's API listen on?",
        "options": ("8080", "443", "22", "25"),
        "right": 1,
        "explanation": "The API sits behind the TLS terminator on 443.",
        "topic": None,
    }
    fields.update(changes)
    return ProposalFields(**fields)  # type: ignore[arg-type]
