"""A learner and her direct-message chat, as practice tests use them."""

from __future__ import annotations

from bot.core.common.identity import ChatRef, Platform, UserRef

DM = ChatRef(Platform.TELEGRAM, "501")
ADA = UserRef(Platform.TELEGRAM, "501")
