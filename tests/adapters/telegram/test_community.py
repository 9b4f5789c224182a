"""A group's own questions on Telegram end to end: the real Application and handlers, real
Update payloads, a real SQLite file, the loopback Bot API (getFile included) and its file
server on 127.0.0.1 (`/file/bot<token>/<path>`, where the document is downloaded from).

A document with the caption /import -> /question in that group asks it, another group never
does; /questions export goes to the admin privately; /propose in the group -> a private
conversation -> /questions pending (privately, buttons carrying the group) -> Approve, and the
proposer is told privately. Every bad input of issue 16 gets a clear message, changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Update

from bot.adapters.telegram.adapter import TelegramAdapter, build_application, create_adapter
from bot.adapters.telegram.community import file_base
from bot.adapters.telegram.sending import SendScheduler
from bot.app.bootstrap import App
from bot.core.common.secret import Secret
from tests.fakes.community_files import ACME, ACME_PROMPT, BAD_FILES, MB, NOT_TEXT
from tests.fakes.telegram_api import (
    DATE,
    GROUP_ID,
    TOKEN,
    UNPACED,
    Call,
    FakeBotApi,
    chat,
    command,
    document_message,
    press,
    user,
)
from tests.fakes.telegram_server import BotApiServer, serve_bot_api, serve_files

ADMIN_ID, ANN_ID = 4001, 4002  # a private chat's id is its user's id
OTHER_GROUP = -1009999
SCOPE = f"telegram:{GROUP_ID}"
ADMINS_ONLY = "Only the group's admins can"
_ids = itertools.count(50_000)


@dataclass
class Tg:
    adapter: TelegramAdapter
    api: FakeBotApi
    app: App

    async def send(self, payload: dict[str, Any]) -> None:
        """One real Update through the Application; returns once its replies went out."""
        bot = self.adapter.app
        await bot.process_update(Update.de_json(payload, bot.bot))
        await self.adapter.sending.idle()

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(c.params["text"]) for c in self.api.sent("sendMessage")
            if chat_id is None or int(c.params["chat_id"]) == chat_id
        ]  # fmt: skip

    def last(self, chat_id: int | None = None) -> str:
        return self.texts(chat_id)[-1]

    def own_questions(self, scope: str = SCOPE) -> int:
        own = self.app.community.library.community(scope)
        return len(own.questions) if own else 0


@pytest.fixture
def seed() -> int:
    return 3


@pytest.fixture
async def tg(sqlite_app: App) -> AsyncIterator[Tg]:
    api = FakeBotApi()
    async with serve_files(api.documents) as base_url:
        app = build_application(
            TOKEN, base_url=base_url, request=api, get_updates_request=api,
            rate_limiter=SendScheduler(UNPACED),
        )  # fmt: skip
        adapter = TelegramAdapter(sqlite_app.quiz, app, community=sqlite_app.community)
        async with app:
            api.clear()
            yield Tg(adapter, api, sqlite_app)


def text(words: str, *, chat_id: int, user_id: int) -> dict[str, Any]:
    """A plain text message (no command), as Telegram sends it."""
    return {
        "update_id": next(_ids),
        "message": {"message_id": next(_ids), "date": DATE, "chat": chat(chat_id),
                    "from": user(user_id), "text": words},
    }  # fmt: skip


def buttons(call: Call) -> list[str]:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


async def import_acme(tg: Tg) -> None:
    tg.api.member_status = "administrator"
    document = tg.api.documents.document(ACME.encode(), file_name="acme.toml")
    await tg.send(document_message(document, user_id=ADMIN_ID))


async def test_an_admin_imports_a_document_and_only_this_group_gets_it(tg: Tg) -> None:
    await import_acme(tg)
    (get_file,) = tg.api.sent("getFile")
    assert get_file.params["file_id"].startswith("BQACAgIAAx-doc-")
    assert tg.api.documents.downloads == [(TOKEN, "documents/file_1.toml")]  # over HTTP
    assert tg.last(GROUP_ID).startswith("Imported 1 question(s) into Acme stack (acme-stack)")
    assert tg.last(GROUP_ID).endswith("delete your message with it now that it is imported.")
    assert tg.own_questions() == 1

    await tg.send(command("/question acme-stack", user_id=ANN_ID))
    (poll,) = tg.api.sent("sendPoll")
    assert poll.params["question"] == ACME_PROMPT
    await tg.send(command("/question acme-stack", chat_id=OTHER_GROUP, user_id=ANN_ID))
    assert "Acme" not in tg.last(OTHER_GROUP) and len(tg.api.sent("sendPoll")) == 1

    await tg.send(command("/questions list", user_id=ANN_ID))
    assert "Acme stack (acme-stack): 1" in tg.last(GROUP_ID)


async def test_the_caption_may_name_the_bot_but_not_another(tg: Tg) -> None:
    tg.api.member_status = "administrator"
    ours = tg.api.documents.document(ACME.encode(), file_name="acme.toml")
    await tg.send(document_message(ours, caption="/import@stackprep_bot", user_id=ADMIN_ID))
    assert tg.own_questions() == 1
    theirs = tg.api.documents.document(ACME.encode(), file_name="acme.toml")
    await tg.send(document_message(theirs, caption="/import@other_bot", user_id=ADMIN_ID))
    assert len(tg.api.sent("getFile")) == 1  # not ours to answer
    await tg.send(command("/import", user_id=ADMIN_ID))  # without a file: how to send one
    assert "as a document with the caption /import" in tg.last(GROUP_ID)


async def test_export_goes_to_the_admin_privately(tg: Tg) -> None:
    await import_acme(tg)
    await tg.send(command("/questions export", user_id=ADMIN_ID))
    (sent,) = tg.api.sent("sendDocument")
    assert int(sent.params["chat_id"]) == ADMIN_ID  # not the group: it holds every answer
    ((_, filename, data),) = tg.api.uploads
    assert filename == "acme-stack.toml" and ACME_PROMPT.encode() in data
    assert tg.last(GROUP_ID) == "I've sent you acme-stack.toml in our private chat."

    tg.api.fail("sendDocument", 403, "Forbidden: bot can't initiate conversation with a user")
    await tg.send(command("/questions export", user_id=ADMIN_ID))
    assert tg.last(GROUP_ID).startswith("I can't send you that privately: open a private chat")


async def test_a_member_cannot_import_and_nothing_is_downloaded(tg: Tg) -> None:
    document = tg.api.documents.document(ACME.encode(), file_name="acme.toml")
    await tg.send(document_message(document, user_id=ANN_ID))
    assert tg.last(GROUP_ID).startswith(f"{ADMINS_ONLY} import questions")
    assert tg.api.sent("getFile") == [] and tg.api.documents.downloads == []
    for words in ("/questions export", "/questions pending", "/questions remove acme-stack"):
        await tg.send(command(words, user_id=ANN_ID))
        assert tg.last(GROUP_ID).startswith(ADMINS_ONLY), words
    assert tg.own_questions() == 0


async def test_a_file_over_1_mb_is_refused_before_getfile(tg: Tg) -> None:
    tg.api.member_status = "administrator"
    big = tg.api.documents.document(b"x", file_name="big.toml", size=MB + 1)
    await tg.send(document_message(big, user_id=ADMIN_ID))
    assert "big.toml: the file is 1.0 MB; the limit is 1 MB" in tg.last(GROUP_ID)
    assert tg.api.sent("getFile") == [] and tg.api.documents.downloads == []


async def test_a_size_only_getfile_gives_is_checked_before_downloading(tg: Tg) -> None:
    tg.api.member_status = "administrator"
    quiet = tg.api.documents.document(b"x", file_name="quiet.toml", size=None)
    tg.api.documents.by_id[quiet["file_id"]].size = 3 * MB  # the message said nothing
    await tg.send(document_message(quiet, user_id=ADMIN_ID))
    assert "quiet.toml: the file is 3.0 MB; the limit is 1 MB" in tg.last(GROUP_ID)
    assert tg.api.documents.downloads == []


async def test_a_size_that_lies_does_not_make_the_bot_read_past_1_mb(tg: Tg) -> None:
    tg.api.member_status = "administrator"
    liar = tg.api.documents.document(b"# " + b"x" * 65_534, file_name="liar.toml", size=200,
                                     endless=True)  # fmt: skip
    await asyncio.wait_for(tg.send(document_message(liar, user_id=ADMIN_ID)), 10)
    assert "liar.toml: the file is larger than 1 MB, the limit" in tg.last(GROUP_ID)
    assert tg.own_questions() == 0


@pytest.mark.parametrize("case", sorted(BAD_FILES))
async def test_a_bad_file_is_refused_with_every_problem_and_nothing_imported(
    tg: Tg, case: str
) -> None:
    content, problem = BAD_FILES[case]
    tg.api.member_status = "administrator"
    document = tg.api.documents.document(content.encode(), file_name="acme.toml")
    await tg.send(document_message(document, user_id=ADMIN_ID))
    said = tg.last(GROUP_ID)
    assert said.startswith("Nothing was imported") and problem in said, said
    assert tg.own_questions() == 0


async def test_a_document_that_is_not_text_is_refused(tg: Tg) -> None:
    tg.api.member_status = "administrator"
    image = tg.api.documents.document(NOT_TEXT, file_name="cat.png", mime_type="image/png")
    await tg.send(document_message(image, user_id=ADMIN_ID))
    assert "cat.png: not a text file" in tg.last(GROUP_ID)
    assert tg.own_questions() == 0


async def propose_privately(tg: Tg, steps: list[str]) -> None:
    """Ann follows /propose's link from the group and answers each step in her private chat."""
    await tg.send(command(f"/start propose{GROUP_ID}", chat_id=ANN_ID, user_id=ANN_ID))
    for step in steps:
        await tg.send(text(step, chat_id=ANN_ID, user_id=ANN_ID))


async def test_propose_privately_approve_and_the_proposer_is_told(tg: Tg) -> None:
    await tg.send(command("/propose", user_id=ANN_ID))
    (link,) = tg.api.sent("sendMessage")
    assert f'href="https://t.me/stackprep_bot?start=propose{GROUP_ID}"' in link.params["text"]

    await propose_privately(tg, ["Which port does Acme's staging API listen on?"])
    asked = tg.texts(ANN_ID)
    assert asked[0].startswith("A question for Python interview prep.")
    assert "Step 1 of 5" in asked[0] and asked[-1].startswith("Step 2 of 5")
    for step in ("8080\n8443\n9000", "8080\n8443\n9000\n3000", "E", "B"):
        await tg.send(text(step, chat_id=ANN_ID, user_id=ANN_ID))
    said = tg.texts(ANN_ID)
    assert said[-4].startswith("A proposal needs exactly 4 options.")  # asked again
    assert said[-3].startswith("Step 3 of 5")
    keyboard = tg.api.sent("sendMessage")[-3].params["reply_markup"]["keyboard"]
    assert [k["text"] for k in keyboard[0]] == ["A", "B", "C", "D"]
    assert said[-2].startswith("Say which option is right with a letter from A to D.")
    assert said[-1].startswith("Step 4 of 5")
    await tg.send(text("Staging terminates TLS on 8443.", chat_id=ANN_ID, user_id=ANN_ID))
    assert tg.last(ANN_ID).startswith("Thanks! Your question waits for the admins")
    assert await tg.app.community.store.pending_count(SCOPE) == 1

    tg.api.member_status = "administrator"
    await tg.send(command("/questions pending", user_id=ADMIN_ID))
    (shown,) = [c for c in tg.api.sent("sendMessage") if int(c.params["chat_id"]) == ADMIN_ID]
    assert shown.params["text"].startswith("Python interview prep:")
    assert "✅ B. 8443" in shown.params["text"]
    assert buttons(shown) == [f"cq1.1.a@{GROUP_ID}", f"cq1.1.r@{GROUP_ID}"]
    assert tg.last(GROUP_ID) == "I've sent you the proposals in our private chat."

    tg.api.member_status = "member"  # a forged press by someone who is no admin there
    await tg.send(press(f"cq1.1.a@{GROUP_ID}", chat_id=ANN_ID, user_id=ANN_ID))
    refused = tg.api.sent("answerCallbackQuery")[-1].params
    assert refused["text"].startswith(ADMINS_ONLY) and refused["show_alert"] is True

    tg.api.member_status = "administrator"
    await tg.send(press(f"cq1.1.a@{GROUP_ID}", chat_id=ADMIN_ID, user_id=ADMIN_ID))
    member_check = tg.api.sent("getChatMember")[-1].params
    assert member_check == {"chat_id": GROUP_ID, "user_id": ADMIN_ID}
    done = tg.api.sent("answerCallbackQuery")[-1].params
    assert done["text"].startswith("Proposal #1 approved: added to Members' proposals")
    assert tg.api.sent("editMessageReplyMarkup")  # the buttons go
    assert tg.last(ANN_ID).startswith("Good news: the question you proposed in this group")
    assert tg.own_questions() == 1

    await tg.send(press(f"cq1.1.r@{GROUP_ID}", chat_id=ADMIN_ID, user_id=ADMIN_ID))
    twice = tg.api.sent("answerCallbackQuery")[-1].params["text"]
    assert twice.startswith("Proposal #1 was already approved by")


@pytest.mark.parametrize(
    ("status", "description"),
    [(403, "Forbidden: bot can't initiate conversation with a user"),
     (400, "Bad Request: chat not found")],
)  # fmt: skip
async def test_a_proposer_who_never_started_the_bot_is_not_told_and_nothing_breaks(
    tg: Tg, caplog: pytest.LogCaptureFixture, status: int, description: str
) -> None:
    await tg.send(command('/propose "Is it?" | yes | no | maybe | never | A | Because.',
                          user_id=ANN_ID))  # fmt: skip
    assert tg.last(GROUP_ID).startswith("Thanks! Your question waits")
    tg.api.member_status = "administrator"
    await tg.send(command("/questions pending", user_id=ADMIN_ID))
    tg.api.fail_chat(ANN_ID, status, description)
    await tg.send(press(f"cq1.1.r@{GROUP_ID}", chat_id=ADMIN_ID, user_id=ADMIN_ID))
    assert tg.api.sent("answerCallbackQuery")[-1].params["text"] == "Proposal #1 rejected."
    assert len(tg.texts(ANN_ID)) == 1  # tried once, refused: quietly
    assert not [r for r in caplog.records if r.levelname in {"WARNING", "ERROR"}]
    assert tg.app.community.library.community(SCOPE) is None


async def test_proposals_with_empty_fields_are_refused_and_not_stored(tg: Tg) -> None:
    await tg.send(command("/propose  | a | b | c | d | B | why", user_id=ANN_ID))
    said = tg.last(GROUP_ID)
    assert said.startswith("Nothing was sent to the admins") and "The prompt is empty." in said
    await tg.send(command("/propose just a question", user_id=ANN_ID))
    assert tg.last(GROUP_ID).startswith("Propose a question in one line:")
    await propose_privately(tg, ["Why?", "/cancel"])
    await tg.send(command("/cancel", chat_id=ANN_ID, user_id=ANN_ID))
    assert "Dropped: nothing was sent to the admins." in tg.texts(ANN_ID)
    await tg.send(text("8080", chat_id=ANN_ID, user_id=ANN_ID))  # no draft: not a step
    assert await tg.app.community.store.pending_count(SCOPE) == 0


async def test_only_members_of_the_group_can_start_a_proposal(tg: Tg) -> None:
    tg.api.member_status = "left"
    await propose_privately(tg, [])
    assert (
        tg.last(ANN_ID) == "You can propose a question only for a group you are in (and I am in)."
    )
    await tg.send(command("/propose", chat_id=ANN_ID, user_id=ANN_ID))  # in private: where?
    assert "live in a server or group" in tg.last(ANN_ID)


async def test_the_whole_proposal_in_one_private_message(tg: Tg) -> None:
    await propose_privately(tg, ["Is it? | yes | no | maybe | never | A | Because. | acme-stack"])
    assert "'acme-stack' is not one of your community's" in tg.last(ANN_ID)
    await import_acme(tg)  # now the group has a topic of its own: step 5 asks for it
    await propose_privately(tg, ["Q?", "a\nb\nc\nd", "C", "Why.", "kubernetes"])
    assert "'kubernetes' is not one of your community's" in tg.last(ANN_ID)
    await tg.send(text("acme-stack", chat_id=ANN_ID, user_id=ANN_ID))
    assert tg.last(ANN_ID).startswith("Thanks! Your question waits")


async def test_the_running_bot_downloads_from_the_bot_api_servers_file_path(
    sqlite_app: App,
) -> None:
    """As `stackprep run` builds it (`[telegram] api_base_url`), over real HTTP: polling
    fetches the document's message, getFile answers, and the file comes from the server's
    `/file/bot<token>/<path>` beside the API's `/bot<token>/<method>`."""
    server = BotApiServer(member_status="administrator")
    async with serve_bot_api(server) as (_, base_url):
        adapter = create_adapter(Secret(TOKEN), sqlite_app.services, api_base_url=base_url)
        task = asyncio.create_task(adapter.run())
        try:
            document = server.documents.document(ACME.encode(), file_name="acme.toml")
            server.push(document_message(document, user_id=ADMIN_ID))

            def imported() -> bool:
                return any(
                    "Imported 1 question" in str(m.get("text")) for m in server.sent("sendMessage")
                )

            async with asyncio.timeout(10):
                while not imported():
                    server.activity.clear()
                    await server.activity.wait()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert server.documents.downloads == [(TOKEN, "documents/file_1.toml")]
    own = sqlite_app.community.library.community(SCOPE)
    assert own is not None and len(own.questions) == 1


async def test_the_command_menu_offers_questions_and_propose_and_import_to_admins(tg: Tg) -> None:
    await tg.adapter.publish_commands()
    everyone, admins = tg.api.sent("setMyCommands")
    public = [c["command"] for c in everyone.params["commands"]]
    assert {"questions", "propose"} <= set(public) and "import" not in public
    assert "import" in [c["command"] for c in admins.params["commands"]]


def test_the_file_server_sits_beside_the_bot_api() -> None:
    assert file_base("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_base("https://bot.example/tg/bot") == "https://bot.example/tg/file/bot"
    assert file_base("http://host/bot{token}/x") == "http://host/file/bot{token}/x"
