"""The Telegram adapter (imported only when a Telegram token is configured); `Webhook` is
what `create_adapter` takes to receive updates by webhook instead of polling."""

from bot.adapters.telegram.adapter import create_adapter
from bot.adapters.telegram.webhook import Webhook

__all__ = ["Webhook", "create_adapter"]
