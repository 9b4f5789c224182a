"""The Telegram adapter (imported only when a Telegram token is configured)."""

from bot.adapters.telegram.adapter import create_adapter

__all__ = ["create_adapter"]
