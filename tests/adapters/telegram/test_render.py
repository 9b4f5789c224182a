"""Rendering a leaderboard for Telegram (issue 18, item 19): names that look like mentions or
commands reach the HTML as inert text, and right-to-left overrides not at all."""

from __future__ import annotations

import re

from bot.adapters.telegram.render import html_messages
from bot.core.common.replies import Code, Paragraph, Reply
from bot.core.quiz.scoring import BoardRow, rank_rows
from bot.core.quiz.texts import leaderboard_reply

# what Telegram's clients link by themselves: @username mentions and /commands
MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")
COMMAND = re.compile(r"(?:^|\s)/[A-Za-z0-9_]{1,32}")


def test_names_on_a_leaderboard_cannot_mention_run_a_command_or_reorder() -> None:
    names = ["@durov", "see @BotFather", "/daily off", "x /stop", "<b>bold</b>",
             "Eve\u202egnp.exe", "\u2066@admin\u2069"]  # fmt: skip
    rows = [BoardRow(n, name, 100 - n, 1, 1) for n, name in enumerate(names, 1)]
    reply = leaderboard_reply(rank_rows(rows), None, period="week", place="here", asker_id=0)
    (html,) = html_messages(reply)
    assert not MENTION.search(html), html
    assert not COMMAND.search(html), html
    assert "<b>bold" not in html and "bold&lt;" in html  # HTML escaped, not parsed
    assert not set(html) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067")


def test_a_link_is_an_escaped_anchor_with_its_host_beside_it() -> None:
    from bot.core.common.replies import Link, Paragraph, Reply

    url = 'https://docs.python.org/3/library/stdtypes.html?a=1&b="2"#str'
    (html,) = html_messages(Reply((Paragraph("Why"), Link("Learn more", url))))
    assert html == (
        'Why\n\n<a href="https://docs.python.org/3/library/stdtypes.html?a=1&amp;b=&quot;2&quot;'
        '#str">Learn more</a> (docs.python.org)'
    )
    (plain,) = html_messages(Reply((Link("Learn <more>", "javascript:alert(1)"),)))
    assert plain == "Learn &lt;more&gt; (javascript:alert(1))"  # not https: text, no anchor


def test_an_at_username_in_our_text_is_no_mention_but_code_stays_exact() -> None:
    """Telegram makes "@name" in a message a mention that notifies that member (a
    community's question may carry one): a word joiner after "@" keeps it plain text."""
    reply = Reply((Paragraph("Ask @alice or @bob_2 about it."), Code("@property\ndef x(): ...")))
    [text] = html_messages(reply)
    assert "@alice" not in text and "@\u2060alice" in text and "@\u2060bob_2" in text
    assert "@property" in text  # code is shown exactly
