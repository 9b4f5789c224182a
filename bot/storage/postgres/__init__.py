"""The PostgreSQL storage (several processes, one database): one PgDatabase (a pool, the
migrations) and one repository per context over it, each implementing its context's port and
held to the same contract tests as the SQLite and in-memory ones."""

from bot.storage.postgres.community import PgCommunityStore
from bot.storage.postgres.daily import PgDailyStore
from bot.storage.postgres.database import SCHEMA_VERSION, PgDatabase
from bot.storage.postgres.games import PgGameStore
from bot.storage.postgres.inbox import PgUpdateInbox
from bot.storage.postgres.practice import PgPracticeStore
from bot.storage.postgres.quiz import PgQuizStore
from bot.storage.postgres.reports import PgReportStore

__all__ = [
    "SCHEMA_VERSION",
    "PgCommunityStore",
    "PgDailyStore",
    "PgDatabase",
    "PgGameStore",
    "PgPracticeStore",
    "PgQuizStore",
    "PgReportStore",
    "PgUpdateInbox",
]
