"""The composition root: `build(config, **overrides)` wires every service, and nothing else does.

config -> bank -> database and repositories -> QuizService -> PracticeService (whose listener
makes every multiple-choice answer update FSRS cards) -> DailyService. The tests build their
apps here too, overriding what they must control (a fixed clock, in-memory storage, seeded
randomness), so the graph they test is the graph that runs.

    app = build(config)                               # SQLite at config.database.path
    app = build(config, storage="memory", clock=c)    # tests, `stackprep discord sync`
    async with app:                                   # opens the database; on exit, stops
        ...                                           # practice's card writer, then closes
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from bot.adapters.base import Services
from bot.config import Config
from bot.core.bank.apkg import anki_files
from bot.core.bank.library import Library
from bot.core.bank.question_bank import QuestionBank, load_bank
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.timeparse import parse_time
from bot.core.community import CommunityService, CommunityStore
from bot.core.community import texts as community_texts
from bot.core.daily.model import DailyDefaults
from bot.core.daily.ports import DailyStore
from bot.core.daily.service import DailyService
from bot.core.delivery import UpdateInbox
from bot.core.games import GameService, GameStore
from bot.core.games import texts as games_texts
from bot.core.practice import texts as practice_texts
from bot.core.practice.grading import GradingRules
from bot.core.practice.model_grading import ModelGrader, ModelGradingSettings
from bot.core.practice.ports import PracticeStore
from bot.core.practice.service import PracticeService, PracticeSettings
from bot.core.quiz import QuizService, Store
from bot.core.quiz.reports import ReportService, ReportStore
from bot.storage.memory import (
    MemoryCommunityStore,
    MemoryDailyStore,
    MemoryGameStore,
    MemoryPracticeStore,
    MemoryReportStore,
    MemoryStore,
    MemoryUpdateInbox,
)
from bot.storage.sqlite import (
    Database,
    SqliteCommunityStore,
    SqliteDailyStore,
    SqliteGameStore,
    SqlitePracticeStore,
    SqliteQuizStore,
    SqliteReportStore,
    SqliteUpdateInbox,
)

if TYPE_CHECKING:
    from bot.llm import ChatCompletionsGrader
    from bot.storage.postgres import PgDatabase

Storage = Literal["sqlite", "memory", "postgresql"]


@dataclass(eq=False)
class App:
    """Everything `build` wired, and the database's lifecycle (None with memory storage)."""

    config: Config
    bank: QuestionBank
    clock: Clock
    database: Database | PgDatabase | None  # SQLite's file, PostgreSQL's pool, or memory
    store: Store
    quiz: QuizService
    practice: PracticeService
    daily: DailyService
    inbox: UpdateInbox  # Telegram's fetched updates until processed
    games: GameService  # /quiz: group games (bot.jobs.games plays them in time)
    metrics: Metrics = NO_METRICS  # bot.ops.OpsMetrics when `[ops] listen` is set
    model_client: ChatCompletionsGrader | None = None  # `[grading] backend = "llm"`: closed here
    reports: ReportService = field(kw_only=True)  # question reports; held_questions()
    community: CommunityService = field(kw_only=True)  # a community's own questions, proposals

    @property
    def services(self) -> Services:
        """What the adapters serve."""
        return Services(
            self.quiz, self.bank, self.practice, self.daily, self.inbox, metrics=self.metrics,
            games=self.games, reports=self.reports, community=self.community,
        )  # fmt: skip

    async def open(self) -> None:
        """Open the database, then load every community's own questions into the library
        (so that looking a question up by id stays a dict lookup on the answer path)."""
        if self.database is not None:
            await self.database.open()
        try:
            await self.community.load()
        except BaseException:
            if self.database is not None:  # else its thread keeps the process alive
                await self.database.close()
            raise

    async def close(self) -> None:
        """Stop practice's card writer (card updates not written yet stay pending in the
        database and are applied after the next start), then finish queued answers and close."""
        try:
            await self.practice.close()
        finally:
            try:
                if self.model_client is not None:
                    await self.model_client.close()
            finally:
                if self.database is not None:
                    await self.database.close()

    async def __aenter__(self) -> App:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def build(
    config: Config,
    *,
    storage: Storage | None = None,
    bank: QuestionBank | None = None,
    clock: Clock | None = None,
    database: Database | PgDatabase | None = None,
    rng: random.Random | None = None,
    practice_rng: random.Random | None = None,
    ask_rate: tuple[int, float] | None = None,
    metrics: Metrics = NO_METRICS,
    model_grader: ModelGrader | None = None,
) -> App:
    """Wire the app from `config`; each keyword replaces one part (tests, tools).

    `storage`: "memory", "sqlite" or "postgresql" (default: PostgreSQL when `[database] url`
    is set, else SQLite at `[database] path`);
    `database`: an existing Database (e.g. to reopen the same file as another process would);
    `rng`/`practice_rng`: the quiz's and practice's randomness; `ask_rate`: /question's limit
    per person as (count, seconds); `metrics`: where every part reports (bot.ops.OpsMetrics
    when `[ops] listen` is set); `model_grader`: grades open answers instead of the one
    `[grading]` configures (with `backend = "llm"`: bot.llm's client; else none, keywords).
    """
    bank = bank if bank is not None else load_bank(config.quiz.questions_dir)
    clock = clock or SystemClock()
    store: Store
    practice_store: PracticeStore
    daily_store: DailyStore
    inbox: UpdateInbox
    if storage is None:
        storage = "postgresql" if config.database.url is not None else "sqlite"
    if storage == "memory":
        database = None
        memory = MemoryStore()
        store, practice_store, daily_store = memory, MemoryPracticeStore(), MemoryDailyStore()
        game_store: GameStore = MemoryGameStore(memory)
        inbox = MemoryUpdateInbox()
        report_store: ReportStore = MemoryReportStore()
        community_store: CommunityStore = MemoryCommunityStore()
    elif storage == "postgresql":
        from bot.storage.postgres import PgDatabase  # asyncpg, only when it is used

        url = config.database.url
        if not isinstance(database, PgDatabase):
            if url is None:
                raise ValueError("PostgreSQL storage needs [database] url")
            database = PgDatabase(url.reveal())
        (store, practice_store, daily_store, inbox, report_store, community_store, game_store) = (
            postgres_stores(database)
        )
    else:
        database = database if isinstance(database, Database) else Database(
            config.database.path, busy_timeout_ms=config.database.busy_timeout_ms,
            durability=config.database.durability, metrics=metrics,
        )  # fmt: skip
        store = SqliteQuizStore(database)
        practice_store, daily_store = SqlitePracticeStore(database), SqliteDailyStore(database)
        inbox = SqliteUpdateInbox(database)
        report_store = SqliteReportStore(database)
        community_store = SqliteCommunityStore(database)
        game_store = SqliteGameStore(database)
    quiz = QuizService(
        bank,
        store,
        clock=clock,
        rules=config.scoring,
        round_ttl=config.quiz.round_ttl,
        ask_rate=ask_rate or (config.quiz.asks_per_minute, 60.0),
        rng=rng,
        help_lines=(
            *games_texts.HELP_LINES,
            *community_texts.HELP_LINES,
            *practice_texts.HELP_LINES,
        ),
        metrics=metrics,
        library=Library(bank),  # + each community's own questions, loaded when the app opens
    )
    p, g = config.practice, config.grading
    settings = PracticeSettings(
        p.session_size, p.timeout, GradingRules(threshold=p.fuzzy_threshold), p.desired_retention,
        model_grading=ModelGradingSettings(g.daily_limit, g.cache_size),
    )  # fmt: skip
    model_client = None
    if model_grader is None and g.backend == "llm" and g.base_url and g.model and g.api_key:
        from bot.llm import ChatCompletionsGrader  # aiohttp, only when a model grades

        model_grader = model_client = ChatCompletionsGrader(
            g.base_url, g.model, g.api_key, timeout=g.timeout_seconds
        )
    practice = PracticeService(
        quiz, practice_store, bank=bank, players=store, clock=clock, settings=settings,
        exporter=anki_files, rng=practice_rng, metrics=metrics, model_grader=model_grader,
    )  # fmt: skip
    practice.attach()
    reports = ReportService(quiz, report_store, players=store, clock=clock)
    d = config.daily
    daily = DailyService(
        quiz, daily_store, bank=bank, results=store, clock=clock, held=reports.held_questions,
        defaults=DailyDefaults(parse_time(d.time), d.timezone, d.answer_window),
    )  # fmt: skip
    games = GameService(quiz, game_store, clock=clock, rng=rng, held=reports.held_questions)
    return App(
        config, bank, clock, database, store, quiz, practice, daily, inbox, games, metrics,
        model_client, reports=reports,
        community=CommunityService(quiz.library, community_store, players=store, clock=clock),
    )  # fmt: skip


def postgres_stores(
    database: PgDatabase,
) -> tuple[Store, PracticeStore, DailyStore, UpdateInbox, ReportStore, CommunityStore, GameStore]:
    """Every repository over one PostgreSQL database (asyncpg is imported only here)."""
    from bot.storage import postgres as pg

    return (
        pg.PgQuizStore(database), pg.PgPracticeStore(database), pg.PgDailyStore(database),
        pg.PgUpdateInbox(database), pg.PgReportStore(database), pg.PgCommunityStore(database),
        pg.PgGameStore(database),
    )  # fmt: skip
