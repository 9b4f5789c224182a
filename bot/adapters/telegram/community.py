"""A group's own questions on Telegram: a document with the caption `/import`, `/questions
list|export|remove|pending`, `/propose` (its steps: `proposing.py`) and the Approve / Reject
buttons of a pending proposal (`cq1.*`).

`/import`: the group's admins send the TOML file as a document with the caption `/import`
(`/import@<bot>` too). Anyone else is refused before anything is downloaded; the document's
size, as Telegram gives it, is checked before getFile and again on getFile's answer, and the
download from Telegram's file server (`<base_file_url>/<file_path>`, or the path a local Bot
API server hands out) stops right after the limit whatever the size said
(bot/adapters/download.py).

Telegram has no messages one member alone sees, so what would spoil the group's questions
goes to the admin's private chat: `/questions export` (the file holds every answer) and
`/questions pending` (each proposal with its answer and its buttons). Their buttons there
carry the group (`cq1.<id>.<a|r>@<group id>`); whoever presses one must be an admin of that
group (getChatMember, on every press), so a forged group gains nothing. An admin who never
started a chat with the bot is told so in the group. The proposer hears the decision in
their private chat, or not at all if they never started the bot.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from telegram import CallbackQuery, Document, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.adapters.download import fetch_file
from bot.adapters.telegram import proposing
from bot.adapters.telegram.incoming import (
    CommandSpec,
    Guarded,
    Host,
    Incoming,
    chat_ref,
    display_name,
    incoming,
    is_admin,
    user_ref,
)
from bot.adapters.telegram.render import alert_text
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.community import CommunityService, FileRejected, is_decision_token
from bot.core.community import texts as ct
from bot.core.community.files import shown_filename

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
IMPORT_CAPTION = re.compile(r"^/import(?:@(\w+))?(?:\s|$)", re.IGNORECASE)
PRIVATE_DECISION = re.compile(r"^(cq1\.\d{1,18}\.[ar])@(-\d{1,20})$")  # a button in a DM
USAGE = (
    "Use /questions list, /questions export [topic], /questions remove <topic> or "
    "/questions pending."
)
IMPORT_HOW = (
    "To import questions, send the TOML file (the bank's format: docs/question-format.md) as a "
    "document with the caption /import."
)
START_ME = (
    "I can't send you that privately: open a private chat with me (@{bot}), press Start, then "
    "ask again here."
)


def file_base(base_url: str) -> str:
    """The file server beside a Bot API server, as Telegram and a local Bot API server both
    serve files: `http://host:8081/bot` -> `http://host:8081/file/bot`."""
    head, found, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if found else base_url


def sent_privately(what: str) -> str:
    return f"I've sent you {what} in our private chat."


def exported(filename: str, title: str) -> str:
    return (
        f"{filename}: a topic of {title}. Edit it and send it back in the group as a document "
        "with the caption /import (importing a topic again replaces it)."
    )


def install(bot: Guarded) -> tuple[CommandSpec, ...]:
    """Register what is not a table command (before the adapter's own handlers: a document
    with the caption /import, a proposal's steps, the decision buttons); the table's
    commands come back (/questions, /import, /propose)."""
    only_new = filters.UpdateType.MESSAGE
    caption = filters.Document.ALL & filters.CaptionRegex(IMPORT_CAPTION) & only_new
    bot.app.add_handler(MessageHandler(caption, functools.partial(_on_document, bot)))
    proposing.install(bot)
    bot.app.add_handler(
        CallbackQueryHandler(functools.partial(_on_decision, bot), pattern=is_decision_token)
    )
    return COMMANDS


def _community(bot: Host) -> CommunityService:
    if bot.community is None:  # installed only with one
        raise QuizError(ct.NOT_IN_COMMUNITY)
    return bot.community


# -- /import ----------------------------------------------------------------------------------


async def _on_document(bot: Guarded, update: Update, context: Context) -> None:
    inc, message = incoming(update, ()), update.effective_message
    if inc is None or not isinstance(message, Message) or message.document is None:
        return
    found = IMPORT_CAPTION.match(message.caption or "")
    named = found.group(1) if found else None
    if named and named.casefold() != (bot.app.bot.username or "").casefold():
        return  # /import@another_bot
    document = message.document
    if bot.has_room(inc.chat_id, inc.thread_id):
        await bot.handle(update, lambda: import_document(bot, inc, document), inc)


async def import_document(bot: Guarded, inc: Incoming, document: Document) -> None:
    """An admin's document, size-checked, downloaded (capped), then imported whole."""
    community = _community(bot)
    admin = await is_admin(bot.app, inc)  # never in a private chat
    data = await download(bot, community, document) if admin else b""  # refused unread
    reply = await community.import_file(
        inc.user, inc.name, inc.chat, admin=admin, filename=document.file_name or "", data=data
    )
    # every member can open a document in a group, answers included
    reply = Reply((*reply.blocks, Paragraph(DELETE_THE_FILE)), reply.choices, reply.actions)
    await bot.respond(inc, reply)


DELETE_THE_FILE = (
    "Members can open your file, answers included: delete your message with it now that it "
    "is imported."
)


async def download(bot: Host, community: CommunityService, document: Document) -> bytes:
    limit, shown = community.MAX_FILE_BYTES, shown_filename(document.file_name)
    if document.file_size is not None and document.file_size > limit:  # before any reading
        raise FileRejected([ct.too_big(shown, document.file_size, limit)])
    try:
        file = await bot.app.bot.get_file(document.file_id)
    except TelegramError as exc:  # e.g. "file is too big" (over Telegram's 20 MB)
        raise QuizError(
            f"{shown}: Telegram would not hand the file over ({exc.message})."
        ) from None
    if file.file_size is not None and file.file_size > limit:
        raise FileRejected([ct.too_big(shown, file.file_size, limit)])
    if not file.file_path:
        raise QuizError(f"{shown}: Telegram gave no way to download the file; send it again.")
    return await fetch_file(file.file_path, filename=shown, limit=limit)


async def _import_how(bot: Host, inc: Incoming) -> None:
    """/import typed without a file."""
    await bot.say(inc, IMPORT_HOW)


# -- /questions -------------------------------------------------------------------------------


async def _questions(bot: Host, inc: Incoming) -> None:
    community = _community(bot)
    word = (inc.arg(0) or "list").casefold()
    rest = " ".join(inc.args[1:]).strip()
    if word == "list":
        await bot.respond(inc, await community.listing(inc.chat))
        return
    if word not in {"export", "remove", "pending"}:
        raise QuizError(USAGE)
    admin = await is_admin(bot.app, inc)
    if word == "remove":
        await bot.respond(inc, await community.remove(inc.user, inc.chat, rest, admin=admin))
    elif word == "export":
        filename, data = await community.export(inc.user, inc.chat, admin=admin, topic=rest or None)
        title = await _group_title(bot, inc)
        caption = exported(filename, title)
        send = functools.partial(
            bot.app.bot.send_document,
            int(inc.user.user_id),
            data,
            filename=filename,
            caption=caption,
        )
        bot.later(inc.chat_id, functools.partial(_privately, bot, inc, [send], filename))
    else:
        replies = await community.pending(inc.user, inc.chat, admin=admin)
        if not any(r.actions for r in replies):  # nothing waits: say so here
            await bot.respond(inc, replies[0])
            return
        title = await _group_title(bot, inc)
        sends = [_proposal_sender(bot, inc, reply, title) for reply in replies]
        bot.later(inc.chat_id, functools.partial(_privately, bot, inc, sends, "the proposals"))


def _proposal_sender(
    bot: Host, inc: Incoming, reply: Reply, title: str
) -> Callable[[], Awaitable[object]]:
    """A pending proposal for the admin's private chat: the group named first, its buttons
    carrying the group."""
    actions = tuple(replace(b, token=f"{b.token}@{inc.chat_id}") for b in reply.actions)
    blocks = (Paragraph(f"{title}:"), *reply.blocks) if reply.actions else reply.blocks
    shown = replace(reply, blocks=blocks, actions=actions)
    return functools.partial(bot.outbox.send_reply, int(inc.user.user_id), shown)


async def _privately(
    bot: Host, inc: Incoming, sends: list[Callable[[], Awaitable[object]]], what: str
) -> None:
    """Send to the person's private chat, then say so in the group; if they never started
    the bot, tell them how."""
    try:
        for send in sends:
            await send()
    except (Forbidden, BadRequest) as exc:
        log.info("telegram: no private chat with user %s (%s)", inc.user.user_id, exc.message)
        text = START_ME.format(bot=bot.app.bot.username or "the bot")
    else:
        text = sent_privately(what)
    await bot.app.bot.send_message(
        inc.chat_id, text, message_thread_id=inc.thread_id,
        reply_parameters=ReplyParameters(inc.message_id, allow_sending_without_reply=True),
    )  # fmt: skip


async def _group_title(bot: Host, inc: Incoming) -> str:
    """The group's name for a message sent elsewhere (its id when Telegram says nothing)."""
    try:
        chat = await bot.app.bot.get_chat(inc.chat_id)
    except TelegramError:
        return f"group {inc.chat_id}"
    return chat.title or f"group {inc.chat_id}"


# -- the decision buttons ---------------------------------------------------------------------


async def _on_decision(bot: Guarded, update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    await bot.handle(
        update, lambda: decide(bot, query), lambda text: query.answer(text, show_alert=True)
    )


async def decide(bot: Guarded, query: CallbackQuery) -> None:
    """Approve or Reject, by an admin of the proposal's group (in the group, or from the
    private chat the pending list went to)."""
    community, message = _community(bot), query.message
    user, name = user_ref(query.from_user), display_name(query.from_user)
    data = query.data or ""
    if found := PRIVATE_DECISION.match(data):
        token, group_id = found.group(1), int(found.group(2))
        group = ChatRef(Platform.TELEGRAM, str(group_id), str(group_id))
    elif message is not None:
        token, group_id, group = data, message.chat.id, chat_ref(message.chat)
    else:
        raise QuizError(ct.INVALID_DECISION)
    admin = await _admin_of(bot, group_id, query.from_user.id)
    decision = await community.decide(user, name, group, token, admin=admin)
    await query.answer(alert_text(decision.reply))
    if isinstance(message, Message):  # the decided proposal loses its buttons
        chat_id, message_id = message.chat.id, message.message_id
        bot.later(chat_id, functools.partial(_drop_buttons, bot, chat_id, message_id))
        bot.later(chat_id, functools.partial(bot.outbox.send_reply, chat_id, decision.reply))
    if decision.notify is not None:
        person, told = decision.notify
        if person.platform is Platform.TELEGRAM and person.user_id.lstrip("-").isdigit():
            chat = int(person.user_id)
            bot.later(chat, functools.partial(tell_privately, bot, person, told))


async def _admin_of(bot: Host, group_id: int, user_id: int) -> bool:
    if group_id > 0:  # a private chat: no group to be an admin of
        return False
    try:
        member = await bot.app.bot.get_chat_member(group_id, user_id)
    except (Forbidden, BadRequest):  # the bot is no longer in that group
        return False
    return member.status in {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


async def tell_privately(bot: Host, person: UserRef, reply: Reply) -> None:
    """The proposer's private chat; quietly nothing if they never started the bot."""
    try:
        await bot.outbox.send_reply(int(person.user_id), reply)
    except (Forbidden, BadRequest) as exc:
        log.info("telegram: could not tell user %s about their proposal (%s)",
                 person.user_id, exc.message)  # fmt: skip


async def _drop_buttons(bot: Host, chat_id: int, message_id: int) -> None:
    try:
        await bot.app.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except TelegramError as exc:  # gone, too old, already without buttons
        log.info("telegram: could not remove a proposal's buttons (%s)", exc.message)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "questions", _questions, "This group's own questions: list, export, remove, pending"
    ),
    CommandSpec(
        "import",
        _import_how,
        "Import questions: send a TOML file with the caption /import",
        admin=True,
    ),
    CommandSpec("propose", proposing.propose, "Propose a question for this group's own"),
)

__all__ = ["COMMANDS", "decide", "download", "import_document", "install"]
