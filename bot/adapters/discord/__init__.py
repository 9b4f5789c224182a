"""The Discord adapter (imported only when a Discord token is configured)."""

from bot.adapters.discord.adapter import create_adapter

__all__ = ["create_adapter"]
