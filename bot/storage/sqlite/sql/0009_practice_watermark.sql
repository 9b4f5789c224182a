-- Stackprep schema, version 9: practice's card updates come from the stored answers.
--
-- Every multiple-choice answer updates the learner's FSRS card. Those updates waited in an
-- in-memory queue: under overload it held 102,006 of them (RSS 51 -> 153 MB), and a kill -9
-- lost 74%. Now the answer's own statement records it in practice_feed (the trigger below),
-- so the update is exactly as durable as the answer, and the card writer applies the feed in
-- order, moving practice_watermark forward in the same transaction as the cards it writes:
-- a crash or a backlog loses nothing and applies nothing twice, and the bot holds at most one
-- batch of pending updates in memory (bot/storage/sqlite/practice.py).

-- One row per stored answer, in the order they were stored; the answer itself (question,
-- topic, right or wrong, when) is read from `answers` by its key.
CREATE TABLE practice_feed (
    seq        INTEGER PRIMARY KEY,
    round_id   TEXT NOT NULL,
    player_id  INTEGER NOT NULL
);

-- The last practice_feed.seq whose card update is written. The card writer deletes the rows
-- before it as it goes, and keeps that last one so new rows still get larger numbers.
CREATE TABLE practice_watermark (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    applied  INTEGER NOT NULL
);
INSERT INTO practice_watermark (id, applied) VALUES (1, 0);

CREATE TRIGGER answers_feed_practice AFTER INSERT ON answers
BEGIN
    INSERT INTO practice_feed (round_id, player_id) VALUES (NEW.round_id, NEW.player_id);
END;
