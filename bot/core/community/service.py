"""CommunityService: a community's own questions (import, list, export, remove) and its
members' proposals (propose, pending, approve or reject). Adapters call these.

The API the adapters build on (issue 16, items 3 and 4):

    await import_file(user, name, chat, *, admin, filename, data: bytes) -> Reply
    await listing(chat) -> Reply
    await export(user, chat, *, admin, topic=None) -> tuple[str, bytes]  (file name, TOML)
    await remove(user, chat, topic, *, admin) -> Reply
    await propose(user, name, chat, fields: ProposalFields) -> Reply
    await pending(user, chat, *, admin) -> list[Reply]  (each with Approve / Reject buttons)
    await decide(user, name, chat, token, *, admin) -> Decision
    topic_choices(chat, text) -> list[TopicChoice]  (the topics autocomplete, own marked)
    MAX_FILE_BYTES (check an attachment's size before downloading it)

Changed from the brief: `export` takes an optional `topic` (a file holds one topic, and a
community may have several: without it, the only topic is exported, or a QuizError lists the
topics to choose from). `decode_decision`/`is_decision_token` (bot.core.community.tokens)
route the buttons. A refusal is a QuizError (a file's problems: FileRejected, every problem
in its message, cut to fit one message; a second decision: AlreadyDecided); the adapters show
its message privately. Added: `topic_choices` above; `QuizService.topics(chat)` lists the
community's topics too when given the chat; resolve a topic typed for /quiz or /daily against
`quiz.library.for_scope(chat.scope)`, not the shipped `bank`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from bot.core.bank.library import Community, Library, content_scope
from bot.core.bank.questions import Question, Topic, parse_topic_data
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.errors import NotAllowed, QuizError
from bot.core.common.identity import ChatRef, UserRef, clean_name
from bot.core.common.replies import Button, Reply
from bot.core.common.texts import community_word
from bot.core.common.untrusted import storable
from bot.core.community import proposals, texts
from bot.core.community.files import (
    MAX_FILE_BYTES,
    MAX_QUESTIONS,
    FileRejected,
    check_file,
    decode_text,
    export_toml,
    loaded_topic,
    shown_filename,
    to_data,
)
from bot.core.community.model import (
    Decision,
    NewProposal,
    Proposal,
    ProposalFields,
    ProposalState,
    StoredQuestion,
    StoredTopic,
    TopicChoice,
)
from bot.core.community.ports import CommunityStore
from bot.core.community.tokens import decision_token, decode_decision
from bot.core.quiz import Players

log = logging.getLogger(__name__)

PENDING_SHOWN = 10  # proposals listed by one /questions pending


class AlreadyDecided(QuizError):
    """A second decision on a proposal: the message says who decided it, and when."""


class CommunityService:
    MAX_FILE_BYTES = MAX_FILE_BYTES
    MAX_QUESTIONS = MAX_QUESTIONS

    def __init__(
        self,
        library: Library,
        store: CommunityStore,
        *,
        players: Players,
        clock: Clock | None = None,
    ) -> None:
        """`library`: the one the quiz, daily and games pick from (updated on every change);
        `players`: the quiz's player ids (a proposal records its proposer's)."""
        self.library = library
        self.store = store
        self.players = players
        self.clock = clock or SystemClock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._version: int | None = None  # the store's, when the library was last loaded
        self._changes = 0  # this process's own changes to the library (see _reload)
        self._told: set[tuple[str, str]] = set()  # topics left out (a shipped one's slug)

    def __repr__(self) -> str:
        return f"CommunityService({self.library!r})"

    async def load(self) -> None:
        """Put every community's stored questions into the library (when the app opens)."""
        await self._reload(await self.store.version())
        own = {s: self.library.community(s) for s in self.library.scopes}
        if own:
            total = sum(len(c.questions) for c in own.values() if c is not None)
            log.info("communities: %d with questions of their own, %d in all", len(own), total)

    async def refresh(self) -> bool:
        """Follow what other processes changed (PostgreSQL: an import, a removal or an
        approval lands on any process): if the store's version moved since the last load,
        reload every community's questions; each changed community's set is swapped into the
        library at once, so the answer path stays a dict lookup. One small read when nothing
        changed; None from the store (memory, SQLite: one process) makes it a no-op. True if
        the library was reloaded."""
        version = await self.store.version()
        if version is None or version == self._version:
            return False
        return await self._reload(version)

    async def _reload(self, version: int | None) -> bool:
        """Every community's stored questions into the library, `version` read before them
        (a change made after that read is reloaded by the next refresh). Skipped (False) if
        this process changed a community meanwhile: the next refresh reloads."""
        changes = self._changes
        by_scope: dict[str, list[tuple[Topic, tuple[Question, ...]]]] = {}
        for stored in await self.store.all_topics():
            by_scope.setdefault(stored.scope, []).append(loaded_topic(stored))
        if changes != self._changes:
            return False
        for scope, topics in by_scope.items():
            # a topic a newer release ships too is left out (its questions with it), said
            # once: the rest of the community's questions still load, the bot starts
            kept = [(t, qs) for t, qs in topics if not self.library.is_shipped_topic(t.slug)]
            for t, qs in topics:
                if self.library.is_shipped_topic(t.slug) and (scope, t.slug) not in self._told:
                    self._told.add((scope, t.slug))
                    log.warning(
                        "communities: %s's topic %r (%d questions) is not loaded: the bot now "
                        "ships a topic of that name; the community can import it again under "
                        "another slug (its file: /questions export)", scope, t.slug, len(qs),
                    )  # fmt: skip
            fresh = Community(
                scope, tuple(t for t, _ in kept), tuple(q for _, qs in kept for q in qs)
            )
            if self.library.community(scope) != fresh:  # unchanged: its merged bank stays cached
                self.library.set_community(scope, fresh.topics, fresh.questions)
        for scope in set(self.library.scopes) - set(by_scope):  # every topic removed
            self.library.set_community(scope, (), ())
        self._version = version
        return True

    # -- a community's questions ------------------------------------------------------------

    async def import_file(
        self, user: UserRef, name: str, chat: ChatRef, *, admin: bool, filename: str,
        data: bytes,
    ) -> Reply:  # fmt: skip
        """An admin's TOML file becomes (or replaces) one of the community's topics, if the
        whole file is valid; else FileRejected lists every problem and nothing changes."""
        scope = self._scope(chat)
        self._admin(chat, admin, "import questions")
        shown = shown_filename(filename)
        if len(data) > MAX_FILE_BYTES:
            raise FileRejected([texts.too_big(shown, len(data), MAX_FILE_BYTES)])
        async with self._lock(scope):
            existing = self._existing(scope)
            checked = await asyncio.to_thread(  # a big file parses for a while: off the loop
                lambda: check_file(
                    decode_text(data, shown), shown, scope=scope,
                    shipped_topics=self.library.shipped.titles, existing=existing,
                )
            )  # fmt: skip
            topic = checked.topic
            stored = StoredTopic(
                scope, topic.slug, topic.title, checked.stored, self.clock.now(),
                clean_name(name),
            )  # fmt: skip
            await self.store.replace_topic(stored)
            self._put(scope, topic, checked.questions)
        replaced = len(existing[topic.slug]) if topic.slug in existing else None
        log.info("community %s: topic %s imported (%d questions, %s)", scope, topic.slug,
                 len(checked.questions), "replaced" if replaced is not None else "new")  # fmt: skip
        return texts.imported(
            topic.slug, topic.title, len(checked.questions), replaced, chat.platform
        )

    async def listing(self, chat: ChatRef) -> Reply:
        """`/questions list`: the community's topics and counts (anyone may ask)."""
        scope = self._scope(chat)
        own = self.library.community(scope)
        slugs = {t.slug for t in own.topics} if own else set()
        infos = [t for t in self.library.for_scope(scope).topics() if t.slug in slugs]
        pending = await self.store.pending_count(scope)
        return texts.listing(infos, pending, MAX_QUESTIONS, chat.platform)

    async def export(
        self, user: UserRef, chat: ChatRef, *, admin: bool, topic: str | None = None
    ) -> tuple[str, bytes]:
        """`/questions export [topic]`: (file name, the topic's TOML), as import takes it."""
        scope = self._scope(chat)
        self._admin(chat, admin, "export the community's questions")
        own = self.library.community(scope)
        if own is None:
            raise QuizError(texts.NOTHING_TO_EXPORT)
        if topic is None or not topic.strip():
            if len(own.topics) != 1:
                raise QuizError(texts.export_which([t.slug for t in own.topics]))
            chosen = own.topics[0]
        else:
            chosen = self._own_topic(scope, topic)
        questions = [q for q in own.questions if q.topic == chosen.slug]
        return f"{chosen.slug}.toml", export_toml(chosen, questions)

    async def remove(self, user: UserRef, chat: ChatRef, topic: str, *, admin: bool) -> Reply:
        """`/questions remove TOPIC`: the topic and its questions go (answers already given
        keep their points)."""
        scope = self._scope(chat)
        self._admin(chat, admin, "remove the community's questions")
        async with self._lock(scope):
            chosen = self._own_topic(scope, topic)
            count = await self.store.remove_topic(scope, chosen.slug)
            self._put(scope, chosen, None)
        log.info("community %s: topic %s removed (%d questions)", scope, chosen.slug, count)
        return texts.removed(chosen.slug, chosen.title, count)

    def topic_choices(self, chat: ChatRef, text: str) -> list[TopicChoice]:
        """The topics autocomplete of /question, /quiz and /daily in `chat`: its community's
        own topics first, marked (e.g. "Acme stack (acme-stack) · this server's"), then the
        bot's own; at most 25."""
        mark = f" · {community_word(chat.platform)}'s"
        found = []
        for info, own in self.library.topic_choices(content_scope(chat), storable(text)):
            label = f"{info.title} ({info.slug})"
            label = label[: 100 - len(mark)] + mark if own else label[:100]
            found.append(TopicChoice(info.slug, label, own))
        return found

    # -- proposals --------------------------------------------------------------------------

    async def propose(
        self, user: UserRef, name: str, chat: ChatRef, fields: ProposalFields
    ) -> Reply:
        """`/propose`: a member's question, stored pending until an admin decides."""
        scope = self._scope(chat)
        clean = proposals.cleaned(fields)
        own = self._existing(scope)
        found = proposals.problems(clean, {*own, texts.PROPOSALS_TOPIC})
        if found:
            raise QuizError(texts.proposal_problems(found))
        player = await self.players.player(user, name)
        if await self.store.pending_count(scope, player) >= proposals.MAX_PENDING_PER_PERSON:
            raise QuizError(texts.too_many_pending(proposals.MAX_PENDING_PER_PERSON, mine=True))
        if await self.store.pending_count(scope) >= proposals.MAX_PENDING:
            raise QuizError(texts.too_many_pending(proposals.MAX_PENDING, mine=False))
        stored = await self.store.add_proposal(
            NewProposal(scope, chat.key, user, player, clean_name(name), clean, self.clock.now())
        )
        log.info("community %s: proposal %d stored", scope, stored.id)
        return texts.proposed(chat.platform)

    async def pending(self, user: UserRef, chat: ChatRef, *, admin: bool) -> list[Reply]:
        """`/questions pending`: the oldest waiting proposals, each with Approve / Reject."""
        scope = self._scope(chat)
        self._admin(chat, admin, "see the proposals")
        waiting = await self.store.pending(scope, PENDING_SHOWN)
        if not waiting:
            return [texts.no_pending(chat.platform)]
        replies = [self._shown(p) for p in waiting]
        total = await self.store.pending_count(scope)
        if total > len(waiting):
            replies.append(texts.more_pending(len(waiting), total))
        return replies

    async def decide(
        self, user: UserRef, name: str, chat: ChatRef, token: str, *, admin: bool
    ) -> Decision:
        """An Approve or Reject button: approving adds the question to the community (topic
        "proposals" unless it named one of the community's); the proposer is told either way.
        A second decision raises AlreadyDecided."""
        decoded = decode_decision(token)
        if decoded is None:
            raise QuizError(texts.INVALID_DECISION)
        scope = self._scope(chat)
        self._admin(chat, admin, "approve or reject proposals")
        proposal = await self.store.proposal(decoded.proposal_id)
        if proposal is None or proposal.scope != scope:
            raise QuizError(texts.NO_SUCH_PROPOSAL)
        if proposal.state is not ProposalState.PENDING:
            raise _already(proposal)
        by, now, prompt = clean_name(name) or "an admin", self.clock.now(), proposal.fields.prompt
        if not decoded.approve:
            if await self.store.reject(proposal.id, by, now) is None:
                raise await self._decided_meanwhile(proposal)
            log.info("community %s: proposal %d rejected", scope, proposal.id)
            told = texts.told_rejected(prompt, chat.platform)
            return Decision(texts.rejected_proposal(proposal.id), (proposal.proposer, told))
        async with self._lock(scope):
            topic, question, stored = self._approved_question(scope, proposal)
            record = StoredTopic(scope, topic.slug, topic.title, (), now, by)
            if await self.store.approve(proposal.id, by, now, record, stored) is None:
                raise await self._decided_meanwhile(proposal)
            own = self.library.community(scope)
            kept = [q for q in own.questions if q.topic == topic.slug] if own else []
            self._put(scope, topic, [*kept, question])
        log.info("community %s: proposal %d approved as %s", scope, proposal.id, question.id)
        told = texts.told_approved(prompt, chat.platform)
        return Decision(
            texts.approved(proposal.id, topic.title, topic.slug, stored.local_id),
            (proposal.proposer, told),
        )

    def _approved_question(
        self, scope: str, proposal: Proposal
    ) -> tuple[Topic, Question, StoredQuestion]:
        own = self.library.community(scope)
        if own is not None and len(own.questions) >= MAX_QUESTIONS:
            raise QuizError(texts.full(MAX_QUESTIONS))
        wanted = proposal.fields.topic or texts.PROPOSALS_TOPIC
        topics = {t.slug: t for t in own.topics} if own else {}
        topic = topics.get(wanted) or topics.get(texts.PROPOSALS_TOPIC)
        topic = topic or Topic(texts.PROPOSALS_TOPIC, texts.PROPOSALS_TITLE)
        taken = {q.id.rpartition("/")[2] for q in own.questions} if own else set()
        fields = proposals.cleaned(proposal.fields)
        local = proposals.local_id_for(fields.prompt, taken)
        data = proposals.question_data(fields, local)
        parsed = parse_topic_data(
            {"topic": topic.slug, "title": topic.title, "questions": [data]},
            f"{topic.slug}.toml", community=True,
        )  # fmt: skip
        if parsed.issues or len(parsed.questions) != 1:  # checked when proposed; a newer
            raise QuizError(texts.proposal_problems(parsed.issues))  # release may refuse it
        (checked,) = parsed.questions
        stored = StoredQuestion(local, json.dumps(to_data(checked), ensure_ascii=False))
        (question,) = loaded_topic(
            StoredTopic(scope, topic.slug, topic.title, (stored,), proposal.created_at, "")
        )[1]
        return topic, question, stored

    async def _decided_meanwhile(self, proposal: Proposal) -> AlreadyDecided:
        fresh = await self.store.proposal(proposal.id)
        return _already(fresh or proposal)

    def _shown(self, p: Proposal) -> Reply:
        buttons = (
            Button(texts.APPROVE, decision_token(p.id, True)),
            Button(texts.REJECT, decision_token(p.id, False)),
        )
        f = p.fields
        return texts.proposal_reply(p.id, f.prompt, f.options, f.right, f.explanation,
                                    f.topic or texts.PROPOSALS_TOPIC, p.name, p.created_at,
                                    buttons)  # fmt: skip

    # -- helpers ------------------------------------------------------------------------------

    def _scope(self, chat: ChatRef) -> str:
        scope = content_scope(chat)
        if scope is None:
            raise QuizError(texts.NOT_IN_COMMUNITY)
        return scope

    @staticmethod
    def _admin(chat: ChatRef, admin: bool, what: str) -> None:
        if not admin:
            raise NotAllowed(texts.not_admin(chat.platform, what))

    def _lock(self, scope: str) -> asyncio.Lock:
        """One change at a time per community (its count and ids are checked, then written)."""
        return self._locks.setdefault(scope, asyncio.Lock())

    def _existing(self, scope: str) -> dict[str, list[str]]:
        """The community's topics -> their questions' local ids."""
        own = self.library.community(scope)
        found: dict[str, list[str]] = {t.slug: [] for t in own.topics} if own else {}
        for q in own.questions if own else ():
            found.setdefault(q.topic, []).append(q.id.rpartition("/")[2])
        return found

    def _own_topic(self, scope: str, text: str) -> Topic:
        own = self.library.community(scope)
        topics = own.topics if own else ()
        wanted = storable(text).strip().casefold()
        for t in topics:
            if wanted in {t.slug, t.title.casefold()}:
                return t
        raise QuizError(texts.no_such_topic(storable(text), [t.slug for t in topics]))

    def _put(self, scope: str, topic: Topic, questions: Sequence[Question] | None) -> None:
        """Replace one topic of the community in the library (None: remove it)."""
        own = self.library.community(scope)
        topics = [t for t in own.topics if t.slug != topic.slug] if own else []
        kept = [q for q in own.questions if q.topic != topic.slug] if own else []
        if questions is not None:
            topics.append(topic)
            kept += questions
        topics.sort(key=lambda t: t.slug)
        order = {t.slug: n for n, t in enumerate(topics)}
        kept.sort(key=lambda q: order[q.topic])  # stable: each topic keeps its order
        self.library.set_community(scope, topics, kept)
        self._changes += 1


def _already(p: Proposal) -> AlreadyDecided:
    return AlreadyDecided(texts.already_decided(p.id, p.state.value, p.decided_by, p.decided_at))
