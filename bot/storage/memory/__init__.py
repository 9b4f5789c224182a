"""The same repositories in memory (tests, dry runs, `discord sync`), held to the same contract
tests as the SQLite ones, so the fakes cannot drift from the real thing."""

from bot.storage.memory.community import MemoryCommunityStore
from bot.storage.memory.daily import MemoryDailyStore
from bot.storage.memory.games import MemoryGameStore
from bot.storage.memory.inbox import MemoryUpdateInbox
from bot.storage.memory.practice import MemoryPracticeStore
from bot.storage.memory.quiz import MemoryStore
from bot.storage.memory.reports import MemoryReportStore

__all__ = [
    "MemoryCommunityStore",
    "MemoryDailyStore",
    "MemoryGameStore",
    "MemoryPracticeStore",
    "MemoryReportStore",
    "MemoryStore",
    "MemoryUpdateInbox",
]
