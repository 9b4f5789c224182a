"""Rendering core Replies for Discord: text shows literally, code stays inside its block,
and long replies are cut without breaking the markdown."""

from __future__ import annotations

import re

import discord

from bot.adapters.discord.render import (
    CONTENT_MAX,
    TOKEN_TEMPLATE,
    escape,
    fit,
    render,
    render_text,
    token_button,
    token_of,
)
from bot.core.common.replies import Button, Code, Link, Paragraph, Reply
from bot.core.quiz.tokens import answer_token, next_token


def test_user_text_cannot_format_link_list_or_heading() -> None:
    assert escape("**bold** _it_ `code` ~~s~~ ||spoiler||") == (
        "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~ \\|\\|spoiler\\|\\|"
    )
    assert escape("[free nitro](https://evil.example)").startswith("\\[")
    assert escape("# Big\n- item\n> quote") == "\\# Big\n\\- item\n\\> quote"
    assert escape("1. Ann\n12. Bob") == "1\\. Ann\n12\\. Bob"  # no auto-numbered list
    assert escape("see https://docs.python.org/3/library/asyncio_task.html") == (
        "see https://docs.python.org/3/library/asyncio_task.html"  # bare URLs stay clickable
    )


def test_code_is_fenced_with_its_language_and_cannot_break_out() -> None:
    reply = Reply((Paragraph("What runs?", bold=True), Code('s = """```"""\nprint(s)', "py thon!")))
    text = render_text(reply)
    assert text.startswith("**What runs?**\n\n```python\n")
    assert text.endswith("\n```")
    assert text.count("```") == 2  # the fence inside the code was neutralised


def test_long_content_is_cut_to_the_limit_and_a_cut_code_block_is_closed() -> None:
    long_code = Reply((Paragraph("intro"), Code("x = 1\n" * 600)))
    text = render_text(long_code)
    assert len(text) <= CONTENT_MAX
    assert text.count("```") % 2 == 0 and text.endswith("```")
    prose = fit("word " * 1000, 100)
    assert len(prose) <= 100 and prose.endswith("…")
    assert fit("short", 100) == "short"


def test_buttons_carry_the_core_tokens_in_rows_and_nobody_is_pinged() -> None:
    reply = Reply(
        (Paragraph("@everyone look"),),
        choices=tuple(Button(label, answer_token("r0und1d0001", label)) for label in "ABCD"),
        actions=(Button("Next question", next_token("asyncio", 3)),),
        private=True,
    )
    rendered = render(reply)
    assert rendered.ephemeral
    kwargs = rendered.message_kwargs()
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert rendered.view is not None
    rows = rendered.view.to_components()
    assert [[c["custom_id"] for c in row["components"]] for row in rows] == [
        [f"a1.r0und1d0001.{label}" for label in "ABCD"],
        ["n1.asyncio.3"],
    ]
    assert [c["style"] for c in rows[0]["components"]] == [discord.ButtonStyle.primary.value] * 4
    assert render(Reply((Paragraph("plain"),))).view is None


def test_the_button_template_takes_every_core_token_and_nothing_foreign() -> None:
    template = re.compile(TOKEN_TEMPLATE)
    assert template.fullmatch(answer_token("abcDEF_-123", "D"))
    assert template.fullmatch(next_token(None, None))
    assert template.fullmatch("a2.future-version.A")  # reaches the core: "no longer open"
    assert not template.fullmatch("daily:settings")  # other features' ids are left alone
    button = token_button(Button("A", "a1.abcdefghijk.A"), discord.ButtonStyle.primary)
    assert button.custom_id == "a1.abcdefghijk.A"
    assert token_of("a1.abcdefghijk.A") == "a1.abcdefghijk.A"
    assert token_of("a2.future-version.A") == "a2.future-version.A"
    assert token_of("daily:settings") is None and token_of(None) is None
    assert token_of("a1.abcdefghijk.A\n") is None  # matched whole


async def test_replies_share_their_rendering_and_discord_py_keeps_none_of_the_views() -> None:
    """A round's answer replies differ in their points and share their buttons: each text
    and each view is made once, and the view is stopped before it is sent, so discord.py
    neither stores it nor gives it a timeout task (clicks are routed by custom_id)."""

    def answer(points: int) -> Reply:  # built anew each time
        return Reply(
            (Paragraph(f"**Right!** +{points}"), Link("Learn more", "https://docs.python.org/3/")),
            actions=(Button("Report", "r1.abcdefgh"),),
            private=True,
        )

    first, again, more = render(answer(10)), render(answer(10)), render(answer(12))
    assert first.view is not None and first.view.is_finished()
    assert again.view is first.view and more.view is first.view
    assert again.content is first.content == "\\*\\*Right!\\*\\* +10"
    assert more.content == "\\*\\*Right!\\*\\* +12" and more.ephemeral
    other = render(Reply((Paragraph("Wrong"),), actions=(Button("Report", "r1.other"),)))
    assert other.view is not first.view and other.content == "Wrong"


def test_names_on_a_leaderboard_cannot_mention_or_reorder() -> None:
    """Issue 18, item 19: names come cleaned and defused from the core (shown_name); here,
    what Discord gets of them has no mention syntax, and never pings (allowed_mentions)."""
    from bot.core.quiz.scoring import BoardRow, rank_rows
    from bot.core.quiz.texts import leaderboard_reply

    names = ["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>",
             "<#123456789012345678>", "</daily:123456789012345678>", "<t:0:R>",
             "Eve\u202egnp.exe"]  # fmt: skip
    rows = [BoardRow(n, name, 100 - n, 1, 1) for n, name in enumerate(names, 1)]
    reply = leaderboard_reply(rank_rows(rows), None, period="week", place="here", asker_id=0)
    rendered = render(reply)
    mention = re.compile(r"@(everyone|here)|<(@[!&]?|#|/[\w-]+:)\d+>|<t:-?\d+(:\w)?>")
    assert not mention.search(rendered.content), rendered.content
    assert "\u202e" not in rendered.content
    assert rendered.message_kwargs()["allowed_mentions"].to_dict() == {"parse": []}


def test_a_link_is_a_link_button_and_never_text() -> None:
    reply = Reply(
        (Paragraph("Answer: B"), Link("Learn more", "https://docs.python.org/3/library/")),
        actions=(Button("Report", "r1.abcdefgh"),),
    )
    rendered = render(reply)
    assert rendered.content == "Answer: B"  # no markdown link in the text
    assert rendered.view is not None
    items = rendered.view.children
    assert [(i.row, getattr(i, "custom_id", None)) for i in items] == [
        (1, "r1.abcdefgh"),
        (1, None),
    ]
    link = items[1]
    assert isinstance(link, discord.ui.Button) and link.style is discord.ButtonStyle.link
    assert (link.label, link.url) == ("Learn more", "https://docs.python.org/3/library/")
    # not https (or too long for a button): no button at all, and still nothing in the text
    for url in ("javascript:alert(1)", "https://x.example/" + "a" * 600):
        only = render(Reply((Paragraph("x"), Link("Learn more", url))))
        assert only.view is None and only.content == "x"
    assert re.fullmatch(TOKEN_TEMPLATE, "r1.abcdefgh.wrong")  # report buttons reach the core
