-- Stackprep schema, version 8: Telegram's inbox of fetched updates.
--
-- An update fetched with getUpdates is stored here before it is confirmed to Telegram (by the
-- next getUpdates' offset), processed from here and then marked done (done_at), so a crash
-- between fetching and processing loses nothing. The update id is the key: a re-fetched
-- update is stored once, and a done one is not processed again. Done rows whose ids Telegram
-- has confirmed are deleted as the bot goes (bot/adapters/telegram/polling.py), so the table
-- stays small.

CREATE TABLE telegram_inbox (
    update_id    INTEGER PRIMARY KEY,
    payload      TEXT NOT NULL,
    received_at  REAL NOT NULL,
    done_at      REAL
);
