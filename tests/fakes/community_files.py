"""A community's question files for the adapters' end-to-end tests: one valid topic, and a bad
file for each bad input of issue 16 with what the reply must say about it."""

from __future__ import annotations

MB = 1024 * 1024

ACME = """\
topic = "acme-stack"
title = "Acme stack"

[[questions]]
id = "deploy-tool"
difficulty = 1
prompt = "Which tool deploys Acme's services?"
explanation = "Acme ships every service with Nomad jobs."

[[questions.choices]]
text = "Nomad"
correct = true

[[questions.choices]]
text = "Ansible"

[[questions.choices]]
text = "Fabric"
"""
ACME_PROMPT = "Which tool deploys Acme's services?"

# case -> (the file, what the private reply must say)
BAD_FILES = {
    "invalid TOML": (ACME.replace('title = "Acme stack"', "title = Acme"), "not valid TOML"),
    "two right answers": (
        ACME.replace('text = "Ansible"', 'text = "Ansible"\ncorrect = true'),
        "deploy-tool: needs exactly one right choice, has 2",
    ),
    "a 120-character option": (
        ACME.replace('"Fabric"', '"' + "F" * 120 + '"'),
        "deploy-tool choice 3: 'text' is 120 characters; the limit is 80",
    ),
    "a duplicate id": (
        ACME + ACME[ACME.index("[[questions]]") :].replace("Which tool", "What tool"),
        "deploy-tool: duplicate id",
    ),
    "a mention that could ping": (
        ACME.replace("Nomad jobs.", "Nomad jobs. @everyone"),
        "could ping people",
    ),
    "a shipped topic's slug": (ACME.replace('"acme-stack"', '"alpha"'), "one of the bot's own"),
}
NOT_TEXT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # an image, not a TOML file
