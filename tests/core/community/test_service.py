"""A community's own questions through the real services, over memory and SQLite: import,
where the questions appear (only in their own community), list, export, remove; and every bad
input of issue 16, each refused with its own message and nothing changed."""

from __future__ import annotations

import io
import logging
import shutil
import tomllib
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.cli.reports import list_reports
from bot.core.bank.library import CONSOLE_SCOPE
from bot.core.bank.question_bank import load_bank
from bot.core.common.errors import NotAllowed, QuizError, RoundClosed, UnknownTopic
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.community import MAX_FILE_BYTES
from bot.core.quiz import RoundKind
from tests.fakes.app import make_app, make_config
from tests.fakes.clock import FixedClock
from tests.fakes.community import FILENAME, community_file, question_toml
from tests.fakes.outbox import FakeOutbox
from tests.fakes.paths import TEST_BANK

GUILD = ChatRef(Platform.DISCORD, "10", "1")
SAME_GUILD = ChatRef(Platform.DISCORD, "11", "1")
OTHER = ChatRef(Platform.DISCORD, "20", "2")
DM = ChatRef(Platform.DISCORD, "30", None)
GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
ADMIN = UserRef(Platform.DISCORD, "100")
MEMBER = UserRef(Platform.DISCORD, "200")
SHIPPED = 5  # questions in tests/data/bank


async def load(app: App, data: bytes, chat: ChatRef = GUILD, name: str = FILENAME) -> str:
    reply = await app.community.import_file(
        ADMIN, "Ada", chat, admin=True, filename=name, data=data
    )
    return reply.plain_text()


async def asked_ids(app: App, chat: ChatRef, times: int, topic: str | None = None) -> set[str]:
    """The questions `times` asks in `chat` show (each round marks its question seen, so a
    pool of `times` questions shows every one of them once)."""
    found = set()
    for _ in range(times):
        asked = await app.quiz.ask(UserRef(chat.platform, "300"), "Cy", chat, topic)
        found.add(asked.question.id)
    return found


async def own_ids(app: App, scope: str = "discord:1") -> list[str]:
    own = app.community.library.community(scope)
    return [q.id for q in own.questions] if own else []


async def test_an_import_is_asked_in_its_community_only(app: App) -> None:
    text = await load(app, community_file())
    assert "Imported 2 question(s) into Acme stack (acme-stack)" in text
    assert "in this server only" in text
    assert await own_ids(app) == ["discord:1/jobs-one", "discord:1/jobs-two"]

    # its topic, in any channel of its server
    here = await asked_ids(app, SAME_GUILD, 2, "acme-stack")
    assert here == {"discord:1/jobs-one", "discord:1/jobs-two"}
    # no topic: the server's pool is the shipped questions and its own
    assert len(await asked_ids(app, GUILD, SHIPPED + 2)) == SHIPPED + 2
    # never in another server, a DM or another platform's group
    for chat in (OTHER, DM, GROUP):
        assert not any("/" in q for q in await asked_ids(app, chat, SHIPPED))
        with pytest.raises(UnknownTopic):
            await app.quiz.ask(MEMBER, "Bo", chat, "acme-stack")


async def test_a_community_question_scores_like_a_shipped_one(app: App) -> None:
    await load(app, community_file())
    asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
    assert "Acme stack" in asked.reply.plain_text()  # the community's title
    right = asked.round.correct_label(asked.question)
    reply = await app.quiz.answer_choice(MEMBER, "Bo", asked.round.id, right, chat=GUILD)
    assert "+20" in reply.plain_text()  # difficulty 2, as a shipped mid question
    rows = await app.store.top("discord:1", "all", 10)
    assert [(r.name, r.points) for r in rows] == [("Bo", 20)]


async def test_two_communities_may_use_the_same_ids(app: App) -> None:
    await load(app, community_file("same-id"))
    await load(app, community_file("same-id", title="Other stack"), chat=OTHER)
    assert await own_ids(app, "discord:1") == ["discord:1/same-id"]
    assert await own_ids(app, "discord:2") == ["discord:2/same-id"]
    asked = await app.quiz.ask(MEMBER, "Bo", OTHER, "acme-stack")
    assert asked.question.id == "discord:2/same-id"
    assert "Other stack" in asked.reply.plain_text()


async def test_importing_a_topic_again_replaces_it(app: App) -> None:
    await load(app, community_file("jobs-one", "jobs-two"))
    text = await load(app, community_file("jobs-three"))
    assert "Imported 1 question(s) into Acme stack (acme-stack), replacing the 2 it had" in text
    assert await own_ids(app) == ["discord:1/jobs-three"]


async def test_a_game_and_the_daily_question_pick_the_community_s_own(
    app: App, clock: FixedClock
) -> None:
    await load(app, community_file("jobs-one", "jobs-two", "jobs-three"))
    await app.games.start(MEMBER, "Bo", GUILD, "3 acme-stack")
    game = await app.games.store.running_in(GUILD.key)
    assert game is not None and set(game.question_ids) == {
        "discord:1/jobs-one", "discord:1/jobs-two", "discord:1/jobs-three"
    }  # fmt: skip
    with pytest.raises(UnknownTopic):
        await app.games.start(MEMBER, "Bo", OTHER, "3 acme-stack")

    reply = await app.daily.subscribe(GUILD, ["09:00", "UTC", "acme-stack"], is_admin=True)
    assert "09:00" in reply.plain_text()
    sub = await app.daily.store.subscription_for(GUILD)
    assert sub is not None and sub.topics == ("acme-stack",)
    outbox = FakeOutbox()
    clock.current = clock.current.replace(hour=9, minute=0)
    day = clock.current.date()
    await app.daily.run_post(sub, day, outbox)
    (posted,) = outbox.sent
    assert "Which tool runs Acme background jobs" in posted.reply.plain_text()
    assert posted.asked is not None and posted.asked.question.id.startswith("discord:1/")
    with pytest.raises(QuizError):
        await app.daily.subscribe(OTHER, ["09:00", "UTC", "acme-stack"], is_admin=True)


async def test_community_answers_never_become_practice_cards(app: App) -> None:
    await load(app, community_file())
    asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
    shipped = await app.quiz.ask(MEMBER, "Bo", GUILD, "beta")
    for a in (asked, shipped):
        await app.quiz.answer_choice(MEMBER, "Bo", a.round.id, "A", chat=GUILD)
    await app.practice.flush()
    player = await app.store.player(MEMBER, "Bo")
    cards = await app.practice.store.cards([(player, asked.question.id),
                                            (player, shipped.question.id)])  # fmt: skip
    assert list(cards) == [(player, shipped.question.id)]


async def test_listing_export_and_remove(app: App) -> None:
    empty = (await app.community.listing(GUILD)).plain_text()
    assert "This server has no questions of its own yet" in empty
    await load(app, community_file())
    await load(app, community_file("web-one", topic="acme-web", title="Acme web"))
    listing = (await app.community.listing(GUILD)).plain_text()
    assert "This server's own questions: 3 of 500" in listing
    assert "Acme stack (acme-stack): 2" in listing and "Acme web (acme-web): 1" in listing
    assert "Acme stack" in app.quiz.topics(SAME_GUILD).plain_text()  # /topics, there only
    assert "Acme stack" not in app.quiz.topics(OTHER).plain_text()

    with pytest.raises(QuizError, match="has 2 topics; export one: acme-stack, acme-web"):
        await app.community.export(ADMIN, GUILD, admin=True)
    name, data = await app.community.export(ADMIN, GUILD, admin=True, topic="Acme Stack")
    assert name == "acme-stack.toml"
    exported = tomllib.loads(data.decode())
    assert [q["id"] for q in exported["questions"]] == ["jobs-one", "jobs-two"]
    # the export imports back as the same questions
    before = app.community.library.community("discord:1")
    await load(app, data, name=name)
    assert app.community.library.community("discord:1") == before

    removed = await app.community.remove(ADMIN, GUILD, "acme-web", admin=True)
    assert "Removed Acme web (acme-web) and its 1 question(s)" in removed.plain_text()
    assert await own_ids(app) == ["discord:1/jobs-one", "discord:1/jobs-two"]
    with pytest.raises(QuizError, match=r"no topic 'acme-web'\. Its topics: acme-stack"):
        await app.community.remove(ADMIN, GUILD, "acme-web", admin=True)
    await app.community.remove(ADMIN, GUILD, "acme-stack", admin=True)
    assert app.community.library.community("discord:1") is None
    with pytest.raises(QuizError, match="no questions of its own to export"):
        await app.community.export(ADMIN, GUILD, admin=True)


async def test_a_restart_loads_every_community(tmp_path: Path, clock: FixedClock) -> None:
    async with make_app(tmp_path, clock=clock) as app:
        await load(app, community_file())
        await load(app, community_file("x-one"), chat=GROUP)
    async with make_app(tmp_path, clock=clock) as again:
        assert await own_ids(again) == ["discord:1/jobs-one", "discord:1/jobs-two"]
        assert await own_ids(again, "telegram:-100") == ["telegram:-100/x-one"]
        asked = await again.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
        assert asked.question.id.startswith("discord:1/")


async def test_the_console_is_a_community_of_its_own(app: App) -> None:
    console = ChatRef(Platform.CONSOLE, "console", None)
    await load(app, community_file(), chat=console)
    assert await own_ids(app, CONSOLE_SCOPE) == [
        "console:console/jobs-one", "console:console/jobs-two"
    ]  # fmt: skip
    asked = await app.quiz.ask(UserRef(Platform.CONSOLE, "ada"), "ada", console, "acme-stack")
    assert asked.question.id.startswith("console:console/")


async def test_topic_choices_mark_the_community_s_own(app: App) -> None:
    await load(app, community_file())
    choices = app.community.topic_choices(GUILD, "")
    assert choices[0].slug == "acme-stack" and choices[0].own
    assert choices[0].label == "Acme stack (acme-stack) · this server's"
    assert [c.slug for c in choices[1:]] == ["alpha", "beta"]
    assert app.community.topic_choices(GROUP, "acme") == []
    assert [c.label for c in app.community.topic_choices(GUILD, "ACME")] == [
        "Acme stack (acme-stack) · this server's"
    ]
    slug = "long-" + "o" * 27  # the longest slug and title: cut, the mark kept
    await load(app, community_file("y-one", topic=slug, title="T" * 60))
    (mark,) = app.community.topic_choices(GUILD, slug)
    assert len(mark.label) == 100 and mark.label.endswith(" · this server's")


# -- bad input: a clear message, nothing changed ------------------------------------------------


async def rejected(app: App, data: bytes, *, admin: bool = True, name: str = FILENAME) -> str:
    before = app.community.library.community("discord:1")
    with pytest.raises(QuizError) as caught:
        await app.community.import_file(MEMBER, "Bo", GUILD, admin=admin, filename=name, data=data)
    assert app.community.library.community("discord:1") == before
    assert [t.slug for t in await app.community.store.all_topics()] == (
        [t.slug for t in before.topics] if before else []
    )
    return caught.value.message


async def test_a_topic_typed_with_lone_surrogates_is_the_topic_typed(app: App) -> None:
    """A JSON escape in Telegram's or Discord's payload can carry "\\ud800": it is no part
    of what was typed (and the refusal quoting it could not have been sent)."""
    await load(app, community_file())
    await load(app, community_file("web-one", topic="acme-web", title="Acme web"))
    choices = app.community.topic_choices(GUILD, "acme-w\ud800")
    assert [c.slug for c in choices] == ["acme-web"]
    name, _ = await app.community.export(ADMIN, GUILD, admin=True, topic="acme-stack\ud800")
    assert name == "acme-stack.toml"
    removed = await app.community.remove(ADMIN, GUILD, "\udfffacme-web", admin=True)
    assert "Removed Acme web (acme-web)" in removed.plain_text()


async def test_a_non_admin_cannot_import_remove_export_or_see_proposals(app: App) -> None:
    message = await rejected(app, community_file(), admin=False)
    assert message.startswith("Only members with the Manage Server permission can import")
    await load(app, community_file())
    with pytest.raises(NotAllowed):
        await app.community.remove(MEMBER, GUILD, "acme-stack", admin=False)
    with pytest.raises(NotAllowed):
        await app.community.export(MEMBER, GUILD, admin=False)
    with pytest.raises(NotAllowed, match="the group's admins"):
        await app.community.pending(MEMBER, GROUP, admin=False)
    assert len(await own_ids(app)) == 2


async def test_a_dm_has_no_community(app: App) -> None:
    with pytest.raises(QuizError, match="live in a server or group"):
        await app.community.import_file(
            ADMIN, "Ada", DM, admin=True, filename=FILENAME, data=community_file()
        )
    with pytest.raises(QuizError, match="live in a server or group"):
        await app.community.listing(DM)


async def test_a_file_over_the_limit(app: App) -> None:
    big = community_file() + b"#" * MAX_FILE_BYTES
    assert "the file is 1.0 MB; the limit is 1 MB" in await rejected(app, big)


async def test_invalid_toml(app: App) -> None:
    message = await rejected(app, b'topic = "acme-stack"\ntitle = \n')
    assert "acme.toml: not valid TOML: Invalid value (at line 2, column 9)" in message


async def test_two_right_answers_and_a_120_character_option(app: App) -> None:
    two_right = question_toml("two-right").replace(
        'text = "Cron"\n', 'text = "Cron"\ncorrect = true\n'
    )
    long = question_toml("long-option", options=("Celery", "x" * 120, "Kafka"))
    data = f'topic = "acme-stack"\ntitle = "Acme"\n{two_right}{long}'.encode()
    message = await rejected(app, data)
    assert "the file has 2 problems" in message
    assert "acme.toml: two-right: needs exactly one right choice, has 2" in message
    assert "acme.toml: long-option choice 2: 'text' is 120 characters; the limit is 80" in message


async def test_a_duplicate_id_in_the_file_or_the_community(app: App) -> None:
    message = await rejected(app, community_file("jobs-one", "jobs-one"))
    assert "acme.toml: jobs-one: duplicate id (question 1 of this file has it already)" in message
    await load(app, community_file("web-one", topic="acme-web", title="Acme web"))
    message = await rejected(app, community_file("web-one"))
    assert "acme.toml: web-one: the id is taken by a question of your topic 'acme-web'" in message


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "byte 1 is not UTF-8"),
        (b'topic = "acme-stack"\x00\x00', "character 21 is a control code"),
        ("caf\u00e9".encode("latin-1"), "byte 4 is not UTF-8"),
    ],
)
async def test_an_attachment_that_is_not_text(app: App, data: bytes, why: str) -> None:
    message = await rejected(app, data, name="photo.png")
    assert f"photo.png: not a text file ({why})" in message


async def test_pings_and_links_that_are_not_https(app: App) -> None:
    data = community_file("ping-one").replace(
        b"Celery workers.", b"Celery workers, ask @everyone or <@123>; see http://acme.dev/jobs."
    )
    message = await rejected(app, data)
    assert "acme.toml: ping-one: 'explanation' contains '@everyone', which could ping" in message
    assert "'explanation' contains a mention, which could ping people" in message
    assert "'explanation' has a link that is not https: 'http://acme.dev'" in message
    # code may show a local http address (no client opens a link in a code block)
    code = 'code = """\nrequests.get("http://localhost:8000/jobs")\n"""\n'
    assert "Imported 1" in await load(app, community_file("code-one", extra=code))


async def test_a_shipped_topic_slug_the_limit_of_500_and_no_questions(app: App) -> None:
    message = await rejected(app, community_file(topic="alpha"))
    assert "acme.toml: 'topic' is 'alpha', one of the bot's own topics" in message
    await load(app, community_file(*(f"q-{n:03d}" for n in range(400)), topic="big"))
    message = await rejected(app, community_file(*(f"r-{n:03d}" for n in range(101))))
    assert "101 question(s), and the community keeps 400 in its other topics: 501 in all" in message
    assert "acme.toml: the file has no questions" in await rejected(
        app, b'topic = "acme-stack"\ntitle = "Acme"\n'
    )


async def test_every_problem_is_listed_and_cut_to_fit(app: App) -> None:
    broken = community_file(*(f"bad-{n:03d}" for n in range(60))).replace(
        b"difficulty = 2", b"difficulty = 9"
    )
    message = await rejected(app, broken)
    assert message.startswith("Nothing was imported: the file has 60 problems.")
    assert len(message) <= 1900
    assert "acme.toml: bad-000: 'difficulty' must be 1, 2 or 3, got 9" in message
    assert message.splitlines()[-1].startswith("... and ") and message.endswith(" more")


async def test_a_daily_limited_to_a_removed_topic_stops_with_the_reason(
    app: App, clock: FixedClock
) -> None:
    await load(app, community_file())
    await app.daily.subscribe(GUILD, ["09:00", "UTC", "acme-stack"], is_admin=True)
    await app.community.remove(ADMIN, GUILD, "acme-stack", admin=True)
    sub = await app.daily.store.subscription_for(GUILD)
    assert sub is not None and sub.time == time(9, 0)
    clock.current = clock.current.replace(hour=9) + timedelta(days=1)
    await app.daily.run_post(sub, clock.current.date(), FakeOutbox())
    status = (await app.daily.status(GUILD)).plain_text()
    assert "no questions match its topics and level" in status


async def test_a_round_of_a_removed_question_refuses_answers_politely(app: App) -> None:
    await load(app, community_file())
    asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
    assert asked.round.kind is RoundKind.ASK
    await app.community.remove(ADMIN, GUILD, "acme-stack", admin=True)
    with pytest.raises(QuizError):
        await app.quiz.answer_choice(MEMBER, "Bo", asked.round.id, "A", chat=GUILD)


async def test_a_community_question_can_be_reported_and_listed(
    tmp_path: Path, clock: FixedClock
) -> None:
    async with make_app(tmp_path, clock=clock) as app:
        await load(app, community_file())
        asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
        filed = await app.reports.file(MEMBER, "Bo", asked.round.id, "wrong", "not Celery")
        assert "Thanks" in filed.reply.plain_text()
        (report,) = await app.reports.store.reports(open_only=True)
        assert report.question_id == asked.question.id
    out = io.StringIO()
    await list_reports(make_config(tmp_path), out, open_only=True)
    assert f"{asked.question.id} (acme-stack): 1 open" in out.getvalue()


async def test_a_release_shipping_a_communitys_topic_still_starts_and_skips_that_topic(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A community imported `acme-stack`; a later release ships a topic of that name. The
    bot starts (the clash was a crash at start, with the database left open), leaves that
    topic out with one warning, and the community's other topics still load."""
    async with make_app(tmp_path, clock=clock) as app:
        await load(app, community_file())
        await load(app, community_file("ops-one", topic="acme-ops", title="Acme ops"))
    bank_dir = tmp_path / "bank"
    shutil.copytree(TEST_BANK, bank_dir)
    alpha = bank_dir / "alpha.toml"  # the release renamed its alpha topic to acme-stack
    (bank_dir / "acme-stack.toml").write_text(
        alpha.read_text().replace('topic = "alpha"', 'topic = "acme-stack"')
    )
    alpha.unlink()
    release = load_bank(bank_dir)
    assert "acme-stack" in release.titles
    with caplog.at_level(logging.WARNING, logger="bot"):
        async with make_app(tmp_path, clock=clock, bank=release) as again:
            assert await own_ids(again) == ["discord:1/ops-one"]
    assert "topic 'acme-stack' (2 questions) is not loaded" in caplog.text


async def test_an_answer_to_a_question_changed_since_it_was_asked_is_refused_clearly(
    app: App,
) -> None:
    await load(app, community_file("jobs-one", "jobs-two"))
    asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
    assert len(asked.round.order) == 3
    more = community_file("jobs-one", "jobs-two").replace(
        b'text = "Kafka"\n', b'text = "Kafka"\n\n[[questions.choices]]\ntext = "Redis"\n'
    )
    assert more.count(b'text = "Redis"') == 2
    await load(app, more)  # re-imported: every question now has four options
    with pytest.raises(RoundClosed) as refused:
        await app.quiz.answer_choice(MEMBER, "Bo", asked.round.id, "C", chat=GUILD)
    assert "changed since it was asked" in refused.value.message


async def test_a_communitys_own_questions_score_on_its_own_boards_only(app: App) -> None:
    await load(app, community_file())
    asked = await app.quiz.ask(MEMBER, "Bo", GUILD, "acme-stack")
    right = asked.round.correct_label(asked.question)
    await app.quiz.answer_choice(MEMBER, "Bo", asked.round.id, right, chat=GUILD)
    player = await app.store.player(MEMBER, "Bo")
    assert await app.store.board_entry(GUILD.scope or "", "all", player) is not None
    assert await app.store.board_entry("global", "all", player) is None
