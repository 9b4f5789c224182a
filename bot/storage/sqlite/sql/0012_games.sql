-- Stackprep schema, version 12: group quiz games (`/quiz`, issue 15).
--
-- A game's questions are rounds of their own kind, 'game', scored with a speed share and
-- under the same caps as self-served questions (the daily cap counts both). The rounds
-- table's CHECK is widened in place (writable_schema: a wider CHECK cannot make a stored row
-- invalid, and rebuilding the table would need foreign keys off, which a transaction cannot
-- do); RESET makes this connection re-read the schema. `hint_at` is a game's hint time.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '''practice'')', '''practice'', ''game'')')
    WHERE type = 'table' AND name = 'rounds';
PRAGMA writable_schema = RESET;
ALTER TABLE rounds ADD COLUMN hint_at REAL;

DROP TRIGGER answers_maintain;
CREATE TRIGGER answers_maintain AFTER INSERT ON answers
BEGIN
    INSERT INTO scores (player_id, scope, period, points, correct, answered)
    SELECT NEW.player_id, s.scope, p.period, NEW.points, NEW.correct, 1
    FROM (SELECT NEW.scope1 AS scope UNION ALL SELECT NEW.scope2) AS s,
         (SELECT 'all' AS period UNION ALL SELECT NEW.week) AS p
    WHERE s.scope IS NOT NULL AND (NEW.points != 0 OR NEW.correct != 0)
    ON CONFLICT (player_id, scope, period) DO UPDATE SET
        points = points + excluded.points,
        correct = correct + excluded.correct,
        answered = answered + 1;

    INSERT INTO scores (player_id, scope, period, points, correct, answered)
    SELECT NEW.player_id, s.scope, p.period, 0, 0, 1
    FROM (SELECT NEW.scope1 AS scope UNION ALL SELECT NEW.scope2) AS s,
         (SELECT 'all' AS period UNION ALL SELECT NEW.week) AS p
    WHERE s.scope IS NOT NULL AND NEW.points = 0 AND NEW.correct = 0
    ON CONFLICT (player_id, scope, period) DO UPDATE SET answered = answered + 1;

    UPDATE players SET
        answered = answered + 1,
        correct = correct + NEW.correct,
        points = points + NEW.points,
        daily_streak = coalesce(NEW.daily_streak, daily_streak),
        best_streak = max(best_streak, coalesce(NEW.daily_streak, 0)),
        last_daily_day = coalesce(NEW.daily_day, last_daily_day)
    WHERE id = NEW.player_id;

    INSERT INTO topic_stats (player_id, topic, answered, correct)
    VALUES (NEW.player_id, NEW.topic, 1, NEW.correct)
    ON CONFLICT (player_id, topic) DO UPDATE SET
        answered = answered + 1, correct = correct + excluded.correct;

    INSERT INTO player_days (player_id, day, points)
    SELECT NEW.player_id, NEW.day, NEW.points
    WHERE NEW.kind IN ('ask', 'game') AND NEW.points > 0
    ON CONFLICT (player_id, day) DO UPDATE SET points = points + excluded.points;
END;

-- One row per game. `position` is the question being played (-1 before the first), `phase`
-- whether it is being asked or was revealed; `rounds` the round ids opened so far (JSON), so
-- standings are read from the answers of those rounds. One running game per chat.
CREATE TABLE games (
    id            TEXT PRIMARY KEY,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    community_id  TEXT,
    chat_key      TEXT NOT NULL,
    starter_id    INTEGER NOT NULL REFERENCES players(id),
    starter_name  TEXT NOT NULL,
    settings      TEXT NOT NULL,             -- JSON: count, seconds, topic, difficulty, hints
    questions     TEXT NOT NULL,             -- JSON list of question ids, in play order
    created_at    REAL NOT NULL,
    state         TEXT NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running', 'finished', 'stopped')),
    position      INTEGER NOT NULL DEFAULT -1,
    phase         TEXT NOT NULL DEFAULT 'revealed' CHECK (phase IN ('asking', 'revealed')),
    rounds        TEXT NOT NULL DEFAULT '[]',
    message_ref   TEXT,
    deadline      REAL,
    hint_sent     INTEGER NOT NULL DEFAULT 0,
    ended_at      REAL,
    ended_by      TEXT
) WITHOUT ROWID;
CREATE UNIQUE INDEX games_one_per_chat ON games (chat_key) WHERE state = 'running';
CREATE INDEX games_running ON games (state) WHERE state = 'running';
