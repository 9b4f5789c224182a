"""The SQLite storage: one Database (connections, the writer's queue, checkpoints, migrations)
and one repository per context over it, each implementing its context's port."""

from bot.storage.sqlite.backup import backup
from bot.storage.sqlite.community import SqliteCommunityStore
from bot.storage.sqlite.daily import SqliteDailyStore
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.games import SqliteGameStore
from bot.storage.sqlite.inbox import SqliteUpdateInbox
from bot.storage.sqlite.migrations import SCHEMA_VERSION
from bot.storage.sqlite.practice import SqlitePracticeStore
from bot.storage.sqlite.quiz import SqliteQuizStore
from bot.storage.sqlite.reports import SqliteReportStore

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "SqliteCommunityStore",
    "SqliteDailyStore",
    "SqliteGameStore",
    "SqlitePracticeStore",
    "SqliteQuizStore",
    "SqliteReportStore",
    "SqliteUpdateInbox",
    "backup",
]
