"""`/propose` on Telegram: a member's question for the group's own, written where nobody sees
its answer before it is asked.

In a group, `/propose` alone answers with a link to a private chat with the bot
(`t.me/<bot>?start=propose<group id>`); there the proposal is written in five short steps,
each one message: the question, the four options (one message, one a line), which is right
(a keyboard A-D), the explanation and, when the group has topics of its own, one of them
(`/skip`: "proposals"). `/cancel` drops it. The first step also takes the whole proposal in
one message (`question | A | B | C | D | right | explanation [| topic]`), and so does
`/propose` itself, in the group, followed by it.

Each step is checked at once by the core's own validator (the fields still missing stand in
as valid placeholders), so a problem is said at the step that has it and that step is asked
again; the whole proposal goes to CommunityService.propose at the end. Only members of the
group may write one (getChatMember when it starts). Drafts live in memory for 30 minutes: a
restart loses them, and the member starts again from the group.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot.adapters.telegram.incoming import Guarded, Host, Incoming, incoming
from bot.core.bank.library import content_scope
from bot.core.bank.questions import LABELS
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Link, Paragraph, Reply
from bot.core.community import CommunityService, ProposalFields, parse_proposal_line
from bot.core.community import texts as ct
from bot.core.community.proposals import cleaned, options_from_lines, parse_right, problems

Context = ContextTypes.DEFAULT_TYPE
START_PREFIX = "propose"  # the deep link's payload: propose<group id>
LINK_RE = rf"^/start(@\w+)?\s+{START_PREFIX}-\d{{1,20}}\s*$"
DRAFT_SECONDS = 30 * 60
MAX_DRAFTS = 10_000  # drafts kept at once (the oldest goes first)
STEPS = ("prompt", "options", "right", "explanation", "topic")
PLACEHOLDER = ProposalFields(
    "Which of these placeholders is right?", ("one", "two", "three", "four"), 0,
    "A placeholder explanation.", None,
)  # fmt: skip

WRITE_PRIVATELY = (
    "Write your question to me in a private chat, so nobody here sees the answer before it "
    "is asked. The group's admins decide whether it joins the group's questions."
)
LINK_LABEL = "Propose a question"
STARTED = "A question for {title}. Its admins decide whether it joins the group's questions."
ASK = {
    "prompt": (
        "Step 1 of 5: the question, as players will read it. (Or all of it in one message: "
        "question | A | B | C | D | right letter | explanation | topic.) /cancel stops."
    ),
    "options": "Step 2 of 5: the four options in one message, one a line: A, B, C, D.",
    "right": "Step 3 of 5: which option is right? A, B, C or D.",
    "explanation": "Step 4 of 5: why is it right? Players read this after answering.",
    "topic": 'Step 5 of 5: which of the group\'s topics? {topics}. Or /skip for "proposals".',
}
NOT_A_MEMBER = "You can propose a question only for a group you are in (and I am in)."
CANCELLED = "Dropped: nothing was sent to the admins."
ONLY_TOPIC_SKIPS = "Only the topic can be skipped; /cancel drops the whole proposal."
GONE = "Nothing was sent. Send /propose in the group to start again; your answers are above."


@dataclass
class Draft:
    group: ChatRef
    title: str
    topics: tuple[str, ...]  # the group's own topics when it started (none: no step 5)
    started: float
    step: int = 0
    values: dict[str, str] = field(default_factory=dict)


class Drafts:
    """Proposals being written, by user id (in memory, for DRAFT_SECONDS)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_user: OrderedDict[int, Draft] = OrderedDict()

    def get(self, user_id: int) -> Draft | None:
        draft = self._by_user.get(user_id)
        if draft is not None and self._clock() - draft.started > DRAFT_SECONDS:
            del self._by_user[user_id]
            return None
        return draft

    def start(self, user_id: int, draft: Draft) -> None:
        self._by_user.pop(user_id, None)
        self._by_user[user_id] = draft
        while len(self._by_user) > MAX_DRAFTS:
            self._by_user.popitem(last=False)

    def end(self, user_id: int) -> None:
        self._by_user.pop(user_id, None)

    def now(self) -> float:
        return self._clock()


class _Writing(filters.MessageFilter):
    """A message from someone with a draft."""

    def __init__(self, drafts: Drafts) -> None:
        super().__init__(name="writing a proposal")
        self.drafts = drafts

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and self.drafts.get(user.id) is not None


def install(bot: Guarded, drafts: Drafts | None = None) -> Drafts:
    """Register the deep link's /start, /cancel and /skip, and a draft's steps in the private
    chat (before the adapter's own /start and practice's private text)."""
    drafts = drafts if drafts is not None else Drafts()
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    writing = _Writing(drafts)
    guarded = functools.partial(_guarded, bot, drafts)
    bot.app.add_handler(
        CommandHandler("start", guarded(_begin), filters=private & filters.Regex(LINK_RE))
    )
    bot.app.add_handler(
        CommandHandler(["cancel", "skip"], guarded(_word), filters=private & writing)
    )
    steps = private & filters.TEXT & ~filters.COMMAND & writing
    bot.app.add_handler(MessageHandler(steps, guarded(_step)))
    return drafts


Step = Callable[[Guarded, Drafts, Incoming, Message], Awaitable[None]]


def _guarded(
    bot: Guarded, drafts: Drafts, work: Step
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    async def callback(update: Update, context: Context) -> None:
        inc, message = incoming(update, context.args or []), update.effective_message
        if inc is None or not isinstance(message, Message):
            return
        run = functools.partial(work, bot, drafts, inc, message)
        if bot.has_room(inc.chat_id, inc.thread_id):
            await bot.handle(update, run, inc)

    return callback


def _community(bot: Host) -> CommunityService:
    if bot.community is None:  # the handlers are installed only with one
        raise QuizError(ct.NOT_IN_COMMUNITY)
    return bot.community


# -- in the group -----------------------------------------------------------------------------


async def propose(bot: Host, inc: Incoming) -> None:
    """`/propose`: with the proposal in one message, it is sent at once; alone in a group, a
    link to write it privately."""
    community = _community(bot)
    if inc.args:
        fields = parse_proposal_line(" ".join(inc.args))
        await bot.respond(inc, await community.propose(inc.user, inc.name, inc.chat, fields))
        return
    if inc.chat.is_private:
        raise QuizError(ct.NOT_IN_COMMUNITY)
    link = f"https://t.me/{bot.app.bot.username}?start={START_PREFIX}{inc.chat_id}"
    blocks = (Paragraph(WRITE_PRIVATELY), Link(LINK_LABEL, link))
    await bot.respond(inc, Reply(blocks, private=True))


# -- in the private chat ----------------------------------------------------------------------


async def _begin(bot: Guarded, drafts: Drafts, inc: Incoming, message: Message) -> None:
    """The deep link: a member of the group starts a draft."""
    community = _community(bot)
    group_id = int(inc.args[0].removeprefix(START_PREFIX))
    group = ChatRef(Platform.TELEGRAM, str(group_id), str(group_id))
    user_id = int(inc.user.user_id)
    try:
        member = await bot.app.bot.get_chat_member(group_id, user_id)
        chat = await bot.app.bot.get_chat(group_id)
    except (BadRequest, Forbidden):  # no such group, or the bot is not in it
        raise QuizError(NOT_A_MEMBER) from None
    inside = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
    if member.status not in inside and not getattr(member, "is_member", False):
        raise QuizError(NOT_A_MEMBER)
    scope = content_scope(group)
    own = community.library.community(scope) if scope else None
    topics = tuple(t.slug for t in own.topics) if own else ()
    title = chat.title or f"group {group_id}"
    drafts.start(user_id, Draft(group, title, topics, drafts.now()))
    _send(bot, inc, f"{STARTED.format(title=title)}\n\n{ASK['prompt']}")


async def _word(bot: Guarded, drafts: Drafts, inc: Incoming, message: Message) -> None:
    """/cancel, or /skip (the topic)."""
    user_id = int(inc.user.user_id)
    draft = drafts.get(user_id)
    if draft is None:
        return
    if (message.text or "").split()[0].split("@")[0].casefold() == "/cancel":
        drafts.end(user_id)
        _send(bot, inc, CANCELLED, ReplyKeyboardRemove())
    elif STEPS[draft.step] != "topic":
        _send(bot, inc, f"{ONLY_TOPIC_SKIPS}\n\n{_ask(draft)}")
    else:
        await _submit(bot, drafts, inc, draft, fields(draft.values))


async def _step(bot: Guarded, drafts: Drafts, inc: Incoming, message: Message) -> None:
    """One step's answer: kept if the core's validator has nothing against it, else the
    problem and the same step again."""
    user_id, text = int(inc.user.user_id), message.text or ""
    draft = drafts.get(user_id)
    if draft is None:
        return
    name = STEPS[draft.step]
    if name == "prompt" and text.count("|") >= 6:  # the whole proposal in one message
        await _submit(bot, drafts, inc, draft, parse_proposal_line(text))
        return
    found = step_problems(_community(bot), draft, name, text)
    if found:
        _send(bot, inc, "\n".join(found) + "\n\n" + _ask(draft), _keyboard(name))
        return
    draft.values[name] = text
    draft.step += 1
    if draft.step == STEPS.index("topic") and not draft.topics:
        draft.step += 1  # the group has no topics of its own: "proposals"
    if draft.step >= len(STEPS):
        await _submit(bot, drafts, inc, draft, fields(draft.values))
    else:
        _send(bot, inc, _ask(draft), _keyboard(STEPS[draft.step]))


def fields(values: dict[str, str]) -> ProposalFields:
    """A draft's answers as a proposal; the fields not answered yet are valid placeholders."""
    options = options_from_lines(values["options"]) if "options" in values else None
    return ProposalFields(
        values.get("prompt", PLACEHOLDER.prompt),
        options or PLACEHOLDER.options,  # type: ignore[arg-type]  # four: problems() says
        parse_right(values["right"]) if "right" in values else PLACEHOLDER.right,
        values.get("explanation", PLACEHOLDER.explanation),
        values.get("topic") or None,
    )


def step_problems(community: CommunityService, draft: Draft, name: str, text: str) -> list[str]:
    """What the core's validator says against `text` as the answer to step `name`."""
    candidate = fields({**draft.values, name: text})
    if name == "options" and not options_from_lines(text):
        return [ct.empty_field("options")]
    return problems(cleaned(candidate), {*draft.topics, ct.PROPOSALS_TOPIC})


async def _submit(
    bot: Guarded, drafts: Drafts, inc: Incoming, draft: Draft, proposal: ProposalFields
) -> None:
    drafts.end(int(inc.user.user_id))
    try:
        reply = await _community(bot).propose(inc.user, inc.name, draft.group, proposal)
    except QuizError as exc:
        _send(bot, inc, f"{exc.message}\n\n{GONE}", ReplyKeyboardRemove())
        return
    _send(bot, inc, reply.plain_text(), ReplyKeyboardRemove())


def _ask(draft: Draft) -> str:
    name = STEPS[draft.step]
    return ASK[name].format(topics=", ".join(draft.topics)) if name == "topic" else ASK[name]


def _keyboard(step: str) -> ReplyKeyboardMarkup | None:
    if step != "right":
        return None
    return ReplyKeyboardMarkup([list(LABELS)], one_time_keyboard=True, resize_keyboard=True)


def _send(
    bot: Host, inc: Incoming, text: str,
    markup: ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> None:  # fmt: skip
    """Plain text into the private chat, after the update's work (the chat's queue)."""
    bot.later(
        inc.chat_id,
        functools.partial(
            bot.app.bot.send_message, inc.chat_id, text, reply_markup=markup,
            reply_parameters=ReplyParameters(inc.message_id, allow_sending_without_reply=True),
        ),
    )  # fmt: skip


__all__ = ["Draft", "Drafts", "fields", "install", "propose", "step_problems"]
