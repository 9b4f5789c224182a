"""A loopback Bot API for the Telegram adapter tests: a `BaseRequest` that records every call
(method + parameters) and answers with valid Bot API JSON, plus real Update payload builders.

The real `Application`, `ExtBot` and handlers run on top of it; only the HTTP transport is
replaced. Errors are queued per method with `fail(...)` and come back as Telegram sends them
(status code, description, parameters), so PTB maps them to its own exception types.

Files members send the bot live in `BotFiles` (`FakeBotApi.documents`): `document(...)` makes
the Document of a message (`document_message`), `getFile` answers for it, and
`tests.fakes.telegram_server.serve_files` serves its bytes over HTTP on 127.0.0.1 at
`/file/bot<token>/<file_path>`, as Telegram does (a size that lies, or an endless file, test
the bot's own limit). sendDocument answers with a message and keeps what was uploaded
(`uploads`).

setWebhook, deleteWebhook and getWebhookInfo keep a webhook as Telegram does (`webhook`:
setWebhook's parameters while one is set), and getUpdates answers 409 while one is set.

Forums (supergroups with topics): `command(..., thread_id=7)` and `press(..., thread_id=7)`
come from a topic as Telegram sends them (`message_thread_id`, `is_topic_message`, a Chat
with `is_forum`; `forum=True`: from a forum's General topic, which carries no thread id).
Every call's parameters are recorded, `message_thread_id` included (`threads()`); a post into
a topic answers with a message of that topic, in a forum (`forum(chat_id)` makes a group's
other answers say `is_forum` too). A post into a topic is refused as Telegram refuses it: the
General topic's own id (1) or a topic deleted (`delete_topic`): "message thread not found";
a topic closed (`close_topic`): "TOPIC_CLOSED".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.commands import COMMANDS, CommandSpec
from bot.adapters.telegram.sending import Budgets, SendScheduler
from bot.app.bootstrap import App
from bot.core.common.identity import Platform
from bot.core.games import GameEngine
from bot.core.quiz.service import QuizService

TOKEN = "123456:TEST-secret-token-value"  # a fake token for the loopback API
BOT_USER = {
    "id": 777000,
    "is_bot": True,
    "first_name": "Stackprep",
    "username": "stackprep_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
GROUP_ID = -1001234
# a person's private chat takes one message a second after a burst of 5 (sending.py), and the
# bot 25 a second: a conversation in a test would wait for real, so it may send unpaced
UNPACED = Budgets(
    private_rate=1e4,
    private_burst=1000,
    group_burst=500,
    group_count=1000,
    overall_rate=1e4,
    overall_burst=1000,
)
DATE = 1_764_590_400  # 2025-12-01T12:00:00Z

_ADMIN_RIGHTS = dict.fromkeys(
    (
        "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
        "can_manage_video_chats", "can_restrict_members", "can_promote_members",
        "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
        "can_delete_stories",
    ),
    False,
)  # fmt: skip


_RESTRICTED_RIGHTS = (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
    "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_change_info",
    "can_invite_users", "can_pin_messages", "can_manage_topics", "can_edit_tag",
    "can_react_to_messages",
)  # fmt: skip


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default=0.0, compare=False)  # the event loop's time of the call


# Telegram's flood limits, as `FakeBotApi(flood_limits=True)` enforces them: messages into
# chats (send*, edit*, copy*, forward*, stopPoll) at most 30 in any second overall and 20 in
# any minute per group; beyond, a 429 with the retry_after Telegram would give.
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20


@dataclass
class StoredFile:
    """One file a member sent: what getFile says about it and what is served at its path."""

    file_id: str
    path: str  # getFile's file_path
    data: bytes
    size: int | None  # file_size as Telegram reports it (None: left out)
    endless: bool  # served as `data` repeated until the reader hangs up
    sent: int = 0  # bytes written to readers so far


@dataclass
class BotFiles:
    """The files of a Bot API double: Documents for messages, getFile, the download path."""

    by_id: dict[str, StoredFile] = field(default_factory=dict)
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (token, path) requested
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def document(
        self,
        data: bytes,
        *,
        file_name: str = "questions.toml",
        mime_type: str | None = "application/toml",
        size: int | None = -1,
        endless: bool = False,
    ) -> dict[str, Any]:
        """A Document as a message carries it; `size` is the file_size Telegram reports (the
        real size by default, None to leave it out, or a lie)."""
        number = next(self._ids)
        file_id = f"BQACAgIAAx-doc-{number}"
        reported = len(data) if size == -1 else size
        self.by_id[file_id] = StoredFile(file_id, f"documents/file_{number}.toml", data,
                                         reported, endless)  # fmt: skip
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"AgAD-{number}",
                                    "file_name": file_name}  # fmt: skip
        if mime_type is not None:
            document["mime_type"] = mime_type
        if reported is not None:
            document["file_size"] = reported
        return document

    def get_file(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """getFile's answer: the File with its file_path, or Telegram's error."""
        stored = self.by_id.get(str(params.get("file_id")))
        if stored is None:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: invalid file_id"}  # fmt: skip
        result: dict[str, Any] = {"file_id": stored.file_id, "file_path": stored.path,
                                  "file_unique_id": "AgAD-" + stored.file_id[-1]}  # fmt: skip
        if stored.size is not None:
            result["file_size"] = stored.size
        return 200, {"ok": True, "result": result}

    def at(self, path: str) -> StoredFile | None:
        return next((f for f in self.by_id.values() if f.path == path), None)


WEBHOOK_METHODS = frozenset({"setWebhook", "deleteWebhook", "getWebhookInfo"})
WEBHOOK_CONFLICT = {
    "ok": False, "error_code": 409,
    "description": "Conflict: can't use getUpdates method while webhook is active; use "
    "deleteWebhook to delete the webhook first",
}  # fmt: skip


def webhook_call(
    webhook: dict[str, Any] | None, method: str, params: dict[str, Any]
) -> tuple[dict[str, Any] | None, Any]:
    """setWebhook, deleteWebhook or getWebhookInfo as Telegram answers it (both Bot API
    doubles use it): the webhook set afterwards (setWebhook's parameters, None when none is
    set; an empty url deletes it) and the call's result."""
    if method == "setWebhook":
        return (dict(params) if params.get("url") else None), True
    if method == "deleteWebhook":
        return None, True
    info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    if webhook is not None:
        info.update(url=webhook["url"], max_connections=webhook.get("max_connections", 40))
        if webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = webhook["allowed_updates"]
    return webhook, info


def _posting(method: str) -> bool:
    return method.startswith(("send", "edit", "copy", "forward")) or method == "stopPoll"


def poll_json(poll_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The Poll object Telegram answers a sendPoll with (both Bot API doubles use it)."""
    return {
        "id": poll_id,
        "question": params["question"],
        "options": [
            {"text": o["text"], "voter_count": 0, "persistent_id": str(i)}
            for i, o in enumerate(params["options"])
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": params.get("is_anonymous", True),
        "type": params.get("type", "regular"),
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
        "correct_option_ids": params.get("correct_option_ids", []),
        "explanation": params.get("explanation"),
    }


@dataclass(eq=False)
class FakeBotApi(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    member_status: str = "member"
    updates: list[dict[str, Any]] = field(default_factory=list)  # served by getUpdates
    _failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    _raises: dict[str, list[BaseException]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _polls: dict[str, dict[str, Any]] = field(default_factory=dict)
    initialized: int = 0
    shut_down: int = 0
    activity: asyncio.Event = field(default_factory=asyncio.Event)  # set on every call
    flood_limits: bool = False  # answer 429 beyond Telegram's limits (see GROUP_PER_MINUTE)
    throttled: list[Call] = field(default_factory=list)  # calls answered with a 429
    _chat_failures: dict[int, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    _posted: dict[int | None, deque[float]] = field(default_factory=dict)  # None: overall
    documents: BotFiles = field(default_factory=BotFiles)  # files members sent (getFile)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, name, bytes
    webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set
    forums: set[int] = field(default_factory=set)  # groups with topics (`forum`)
    _topics: dict[tuple[int, int], str] = field(default_factory=dict)  # "closed" / "deleted"

    # -- BaseRequest ------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        self.initialized += 1

    async def shutdown(self) -> None:
        self.shut_down += 1

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        if request_data is not None and not request_data.contains_files:
            # as HTTPX encodes the form: a text no UTF-8 holds (a lone surrogate) fails here
            urlencode(request_data.json_parameters).encode()
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        call = Call(name, params, asyncio.get_running_loop().time())
        self.calls.append(call)
        self.activity.set()
        if raising := self._raises.get(name):
            raise raising.pop(0)
        queued = self._failures.get(name)
        if not queued and _posting(name):
            queued = self._chat_failures.get(int(params.get("chat_id", 0)))
        if not queued and _posting(name) and "message_thread_id" in params:
            queued = self._thread_refusal(params)
        if not queued and _posting(name) and self.flood_limits:
            queued = self._flood(call)
        if queued:
            status, body = queued.pop(0)
            if status == 429:
                self.throttled.append(call)
            return status, json.dumps(body).encode()
        if name == "getFile":
            status, answer = self.documents.get_file(params)
            return status, json.dumps(answer).encode()
        if name == "sendDocument" and request_data is not None:
            for filename, content, _ in request_data.multipart_data.values():
                data = content if isinstance(content, bytes) else content.read()
                self.uploads.append((name, filename, data))
        if name == "getUpdates" and self.webhook is not None:  # as Telegram answers it
            return 409, json.dumps(WEBHOOK_CONFLICT).encode()
        if name == "getUpdates":
            await asyncio.sleep(0.005)  # a very short long poll
            served, self.updates = self.updates, []
            return 200, json.dumps({"ok": True, "result": served}).encode()
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    # -- test controls ----------------------------------------------------------------------

    def fail(
        self, method: str, status: int, description: str, times: int = 1, **parameters: Any
    ) -> None:
        """Make the next `times` calls of `method` fail as Telegram would."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._failures.setdefault(method, []).extend([(status, body)] * times)

    def fail_chat(
        self, chat_id: int, status: int, description: str, times: int = 1, **parameters: Any
    ) -> None:
        """Make the next `times` messages into this chat (any method) fail as Telegram would."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._chat_failures.setdefault(chat_id, []).extend([(status, body)] * times)

    def _flood(self, call: Call) -> list[tuple[int, dict[str, Any]]]:
        """A 429 if this message would exceed 30 in a second overall or 20 in a minute in
        its group (sliding windows, as strict as Telegram's stated limits); else it counts."""
        chat_id = int(call.params.get("chat_id", 0))
        windows = [(None, OVERALL_PER_SECOND, 1.0)]
        if chat_id < 0:
            windows.append((chat_id, GROUP_PER_MINUTE, 60.0))
        wait = 0.0
        for key, limit, span in windows:
            times = self._posted.setdefault(key, deque())
            while times and times[0] <= call.at - span:
                times.popleft()
            if len(times) >= limit:
                wait = max(wait, times[0] + span - call.at)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            body = {
                "ok": False, "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            }  # fmt: skip
            return [(429, body)]
        for key, _, _ in windows:
            self._posted[key].append(call.at)
        return []

    def forum(self, chat_id: int) -> None:
        """Make a group a forum: its messages live in topics."""
        self.forums.add(chat_id)

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        self._topics[(chat_id, thread_id)] = "closed"

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        self._topics[(chat_id, thread_id)] = "deleted"

    def reopen_topic(self, chat_id: int, thread_id: int) -> None:
        self._topics.pop((chat_id, thread_id), None)

    def _thread_refusal(self, params: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """Telegram's answer to a post into a topic it cannot go to (none if it can)."""
        chat_id, thread_id = int(params.get("chat_id", 0)), int(params["message_thread_id"])
        state = self._topics.get((chat_id, thread_id))
        if state == "closed":
            description = "Bad Request: TOPIC_CLOSED"
        elif thread_id == 1 or state == "deleted":
            description = "Bad Request: message thread not found"
        else:
            return []
        return [(400, {"ok": False, "error_code": 400, "description": description})]

    def threads(self, *methods: str) -> list[int | None]:
        """The message_thread_id of each of these calls (default: as `sent`), None if none."""
        return [c.params.get("message_thread_id") for c in self.sent(*methods)]

    def raise_on(self, method: str, error: BaseException, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail in the transport, as a timeout or a
        refused connection does (e.g. `TimedOut()`, `NetworkError(...)`)."""
        self._raises.setdefault(method, []).extend([error] * times)

    def sent(self, *methods: str) -> list[Call]:
        """Calls of these methods (default: everything that posts or answers something)."""
        wanted = methods or ("sendMessage", "sendPoll", "answerCallbackQuery", "editMessageText")
        return [c for c in self.calls if c.method in wanted]

    def clear(self) -> None:
        self.calls.clear()

    # -- results ----------------------------------------------------------------------------

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        thread = params.get("message_thread_id")
        if name in {"sendMessage", "editMessageText"}:
            message_id = params.get("message_id") or next(self._ids)
            return self._message(params["chat_id"], message_id, thread, text=params["text"])
        if name == "sendPoll":
            poll_id = f"poll-{next(self._ids)}"
            poll = poll_json(poll_id, params)
            self._polls[poll_id] = poll
            return self._message(params["chat_id"], next(self._ids), thread, poll=poll)
        if name == "getChat":
            return chat_full_info(int(params["chat_id"]))
        if name == "sendDocument":
            document = {"file_id": f"up-{next(self._ids)}", "file_unique_id": "up"}
            return self._message(params["chat_id"], next(self._ids), thread, document=document,
                                 caption=params.get("caption"))  # fmt: skip
        if name == "stopPoll":
            return {**next(iter(self._polls.values())), "is_closed": True}
        if name == "getChatMember":
            return chat_member(int(params["user_id"]), self.member_status)
        if name in WEBHOOK_METHODS:
            self.webhook, result = webhook_call(self.webhook, name, params)
            return result
        return True  # answerCallbackQuery, setMyCommands, ...

    def _message(
        self, chat_id: int | str, message_id: int, thread: int | None = None, **content: Any
    ) -> dict[str, Any]:
        forum = int(chat_id) in self.forums or thread is not None
        return {
            "message_id": message_id,
            "date": DATE,
            "chat": chat(int(chat_id), forum=forum),
            "from": BOT_USER,
            **(in_topic(thread) if thread is not None else {}),
            **{k: v for k, v in content.items() if v is not None},
        }


@dataclass
class Harness:
    adapter: TelegramAdapter
    api: FakeBotApi
    service: QuizService

    async def send(self, payload: dict[str, Any]) -> None:
        """Drive one real Update through the Application, as polling would, and wait until
        the replies it queued have been sent."""
        app = self.adapter.app
        await app.process_update(Update.de_json(payload, app.bot))
        await self.adapter.sending.idle()


# budgets no game in a test comes near (aiolimiter waits in real time)
ROOMY = Budgets(
    overall_rate=1000, overall_burst=500, group_count=1000, group_burst=500,
    private_rate=1000, private_burst=500,
)  # fmt: skip


@contextlib.asynccontextmanager
async def with_games(
    app: App,
    sleep: Callable[[float], Any],
    *,
    api: FakeBotApi | None = None,
    budgets: Budgets = ROOMY,
    daily: bool = False,
) -> AsyncIterator[tuple[Harness, GameEngine]]:
    """The adapter with games (and `daily`, the daily question) over the loopback Bot API,
    and a game engine (not started) posting through the adapter's own outbox."""
    api = api or FakeBotApi()
    application = build_application(
        TOKEN, request=api, get_updates_request=api, rate_limiter=SendScheduler(budgets)
    )
    adapter = TelegramAdapter(
        app.quiz, application, games=app.games, daily=app.daily if daily else None
    )
    engine = GameEngine(app.games, {Platform.TELEGRAM: adapter.outbox}, sleep=sleep)
    async with application:
        api.clear()
        try:
            yield Harness(adapter, api, app.quiz), engine
        finally:
            await engine.stop()


@contextlib.asynccontextmanager
async def harness(
    service: QuizService, commands: Sequence[CommandSpec] = COMMANDS
) -> AsyncIterator[Harness]:
    """The real Application and adapter over the fake Bot API, initialized (getMe done)."""
    api = FakeBotApi()
    app = build_application(TOKEN, request=api, get_updates_request=api)
    adapter = TelegramAdapter(service, app, commands)
    async with app:
        api.clear()
        yield Harness(adapter, api, service)


async def until(
    condition: Callable[[], object], activity: asyncio.Event, seconds: float = 5
) -> None:
    """Wait until `condition()` holds, re-checking whenever the fake API sees a call."""
    async with asyncio.timeout(seconds):
        while True:
            activity.clear()
            if condition():
                return
            await activity.wait()


# -- update payloads --------------------------------------------------------------------------

_update_ids = itertools.count(1)


def chat(chat_id: int, *, forum: bool = False) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Someone"}
    group = {"id": chat_id, "type": "supergroup", "title": "Python interview prep"}
    return {**group, "is_forum": True} if forum else group


def in_topic(thread_id: int) -> dict[str, Any]:
    """What a message in a forum topic carries (General's messages carry neither)."""
    return {"message_thread_id": thread_id, "is_topic_message": True}


def chat_member(user_id: int, status: str) -> dict[str, Any]:
    """getChatMember's answer: a ChatMember with this status (and its rights, if any)."""
    member = {"id": user_id, "is_bot": False, "first_name": "Member"}
    extra: dict[str, Any] = _ADMIN_RIGHTS if status == "administrator" else {}
    if status == "creator":
        extra = {"is_anonymous": False}
    if status == "restricted":
        extra = {"is_member": True, "until_date": 0, **dict.fromkeys(_RESTRICTED_RIGHTS, False)}
    return {"status": status, "user": member, **extra}


def chat_full_info(chat_id: int) -> dict[str, Any]:
    """getChat's answer (a ChatFullInfo) for `chat(chat_id)`."""
    gifts = dict.fromkeys(
        (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        ),
        False,
    )
    return {**chat(chat_id), "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": gifts}  # fmt: skip


def user(user_id: int, first_name: str = "Ada", last_name: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        data["last_name"] = last_name
    return data


def command(
    text: str,
    *,
    chat_id: int = GROUP_ID,
    user_id: int = 1,
    first_name: str = "Ada",
    message_id: int = 10,
    thread_id: int | None = None,
    forum: bool = False,
    **message: Any,
) -> dict[str, Any]:
    """A message whose text starts with a bot command, as Telegram sends it; with
    `thread_id`, in that topic of a forum (`forum`: in a forum's General topic)."""
    if thread_id is not None:
        message = {**in_topic(thread_id), **message}
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": message_id,
            "date": DATE,
            "chat": chat(chat_id, forum=forum or thread_id is not None),
            "from": user(user_id, first_name),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
            **message,
        },
    }


def document_message(
    document: dict[str, Any],
    *,
    caption: str | None = "/import",
    chat_id: int = GROUP_ID,
    user_id: int = 1,
    first_name: str = "Ada",
    message_id: int = 10,
) -> dict[str, Any]:
    """A message carrying a file (`BotFiles.document`), its caption a command when it starts
    with "/" (Telegram marks it as a bot_command entity of the caption)."""
    message: dict[str, Any] = {
        "message_id": message_id, "date": DATE, "chat": chat(chat_id),
        "from": user(user_id, first_name), "document": document,
    }  # fmt: skip
    if caption is not None:
        message["caption"] = caption
        if caption.startswith("/"):
            length = len(caption.split()[0]) if caption.split() else 1
            message["caption_entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": next(_update_ids), "message": message}


def press(
    data: str | None,
    *,
    chat_id: int = GROUP_ID,
    message_id: int = 100,
    user_id: int = 1,
    first_name: str = "Ada",
    thread_id: int | None = None,
) -> dict[str, Any]:
    """A press of an inline keyboard button under one of the bot's messages (with
    `thread_id`: a message in that topic of a forum)."""
    query: dict[str, Any] = {
        "id": f"cbq-{next(_update_ids)}",
        "from": user(user_id, first_name),
        "chat_instance": "ci-1",
        "message": {
            "message_id": message_id,
            "date": DATE,
            "chat": chat(chat_id, forum=thread_id is not None),
            "from": BOT_USER,
            "text": "a question",
            **(in_topic(thread_id) if thread_id is not None else {}),
        },
    }
    if data is not None:
        query["data"] = data
    return {"update_id": next(_update_ids), "callback_query": query}


def poll_answer(
    poll_id: str, option: int, *, user_id: int = 1, first_name: str = "Ada"
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "poll_answer": {
            "poll_id": poll_id,
            "user": user(user_id, first_name),
            "option_ids": [option],
            "option_persistent_ids": [str(option)],
        },
    }
