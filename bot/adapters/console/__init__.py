"""The terminal quiz: the default when no platform token is configured."""

from bot.adapters.console.adapter import create_adapter

__all__ = ["create_adapter"]
