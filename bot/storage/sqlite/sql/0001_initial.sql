-- Stackprep schema, version 1. Times are UNIX seconds (REAL, UTC); dates are ISO text.

CREATE TABLE players (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      REAL NOT NULL,
    answered        INTEGER NOT NULL DEFAULT 0,
    correct         INTEGER NOT NULL DEFAULT 0,
    points          INTEGER NOT NULL DEFAULT 0,
    daily_streak    INTEGER NOT NULL DEFAULT 0,
    best_streak     INTEGER NOT NULL DEFAULT 0,
    last_daily_day  TEXT
);

-- A platform account (platform + its stable numeric id) belongs to one player.
CREATE TABLE identities (
    platform   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    player_id  INTEGER NOT NULL REFERENCES players(id),
    PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;

CREATE TABLE rounds (
    id            TEXT PRIMARY KEY,
    question_id   TEXT NOT NULL,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    community_id  TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('ask', 'daily', 'practice')),
    choice_order  TEXT NOT NULL,
    opened_at     REAL NOT NULL,
    closes_at     REAL,
    asked_by      INTEGER REFERENCES players(id),
    day           TEXT
) WITHOUT ROWID;

-- When a player last saw a question in a place (selection avoids repeats).
CREATE TABLE seen (
    player_id    INTEGER NOT NULL REFERENCES players(id),
    place        TEXT NOT NULL,
    question_id  TEXT NOT NULL,
    seen_at      REAL NOT NULL,
    PRIMARY KEY (player_id, place, question_id)
) WITHOUT ROWID;

-- One answer per (round, player): the unique key that makes answering idempotent.
CREATE TABLE answers (
    round_id     TEXT NOT NULL REFERENCES rounds(id),
    player_id    INTEGER NOT NULL REFERENCES players(id),
    question_id  TEXT NOT NULL,
    topic        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    label        TEXT NOT NULL,
    correct      INTEGER NOT NULL,
    points       INTEGER NOT NULL,
    answered_at  REAL NOT NULL,
    seconds      REAL NOT NULL,
    scope1       TEXT,            -- leaderboard scopes this answer counts in
    scope2       TEXT,
    week         TEXT NOT NULL,
    day          TEXT NOT NULL,   -- UTC date, for the daily cap
    daily_streak INTEGER,         -- the streak after a daily answer
    daily_day    TEXT,            -- the place's local date of a daily round
    PRIMARY KEY (round_id, player_id)
) WITHOUT ROWID;
CREATE INDEX answers_by_player_question ON answers (player_id, question_id, answered_at);

-- Maintained leaderboards: one row per (scope, period, player); period is 'all' or an ISO week.
CREATE TABLE scores (
    scope      TEXT NOT NULL,
    period     TEXT NOT NULL,
    player_id  INTEGER NOT NULL REFERENCES players(id),
    points     INTEGER NOT NULL DEFAULT 0,
    correct    INTEGER NOT NULL DEFAULT 0,
    answered   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, period, player_id)
) WITHOUT ROWID;
CREATE INDEX scores_board ON scores (scope, period, points DESC, correct DESC, player_id);

CREATE TABLE topic_stats (
    player_id  INTEGER NOT NULL REFERENCES players(id),
    topic      TEXT NOT NULL,
    answered   INTEGER NOT NULL DEFAULT 0,
    correct    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (player_id, topic)
) WITHOUT ROWID;

-- Self-served points per player per UTC day (the anti-farming cap).
CREATE TABLE player_days (
    player_id  INTEGER NOT NULL REFERENCES players(id),
    day        TEXT NOT NULL,
    points     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (player_id, day)
) WITHOUT ROWID;

-- Platform objects that stand for a round (e.g. a Telegram quiz poll id).
CREATE TABLE round_links (
    platform  TEXT NOT NULL,
    ref       TEXT NOT NULL,
    round_id  TEXT NOT NULL REFERENCES rounds(id),
    PRIMARY KEY (platform, ref)
) WITHOUT ROWID;

-- Everything an answer changes is maintained in the answer's own statement, so a leaderboard
-- read never aggregates and a crash can never leave an answer without its points.
CREATE TRIGGER answers_maintain AFTER INSERT ON answers
BEGIN
    INSERT INTO scores (scope, period, player_id, points, correct, answered)
    SELECT s.scope, p.period, NEW.player_id, NEW.points, NEW.correct, 1
    FROM (SELECT NEW.scope1 AS scope UNION ALL SELECT NEW.scope2) AS s,
         (SELECT 'all' AS period UNION ALL SELECT NEW.week) AS p
    WHERE s.scope IS NOT NULL
    ON CONFLICT (scope, period, player_id) DO UPDATE SET
        points = points + excluded.points,
        correct = correct + excluded.correct,
        answered = answered + 1;

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
    SELECT NEW.player_id, NEW.day, NEW.points WHERE NEW.kind = 'ask' AND NEW.points > 0
    ON CONFLICT (player_id, day) DO UPDATE SET points = points + excluded.points;
END;

CREATE TRIGGER rounds_mark_seen AFTER INSERT ON rounds WHEN NEW.asked_by IS NOT NULL
BEGIN
    INSERT INTO seen (player_id, place, question_id, seen_at)
    VALUES (NEW.asked_by, NEW.platform || ':' || NEW.chat_id, NEW.question_id, NEW.opened_at)
    ON CONFLICT (player_id, place, question_id) DO UPDATE SET seen_at = excluded.seen_at;
END;
