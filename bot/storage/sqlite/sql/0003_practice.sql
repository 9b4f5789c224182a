-- Private practice (issue 8): FSRS cards, reviews, sessions and reminders.
-- Times are UNIX seconds (REAL, UTC); dates are ISO text.

-- One spaced-repetition card per player and question, with its FSRS state.
CREATE TABLE practice_cards (
    player_id    INTEGER NOT NULL REFERENCES players(id),
    question_id  TEXT NOT NULL,
    topic        TEXT NOT NULL,
    phase        INTEGER NOT NULL CHECK (phase IN (1, 2, 3)),  -- learning, review, relearning
    step         INTEGER,
    stability    REAL,
    difficulty   REAL,
    due          REAL NOT NULL,
    last_review  REAL,
    reps         INTEGER NOT NULL DEFAULT 0,
    lapses       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (player_id, question_id)
) WITHOUT ROWID;
CREATE INDEX practice_cards_due ON practice_cards (player_id, due);

-- Every review: a multiple-choice answer (rating 1 or 3) or a rated open answer.
-- Free-text answers live only here; they never reach the leaderboard tables.
CREATE TABLE practice_reviews (
    id           INTEGER PRIMARY KEY,
    player_id    INTEGER NOT NULL REFERENCES players(id),
    question_id  TEXT NOT NULL,
    topic        TEXT NOT NULL,
    rating       INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    source       TEXT NOT NULL CHECK (source IN ('choice', 'text')),
    score        REAL,
    reviewed_at  REAL NOT NULL
);
CREATE INDEX practice_reviews_by_player ON practice_reviews (player_id, topic);

CREATE TABLE practice_sessions (
    id           TEXT PRIMARY KEY,
    player_id    INTEGER NOT NULL REFERENCES players(id),
    platform     TEXT NOT NULL,
    chat_id      TEXT NOT NULL,
    topic        TEXT,
    plan         TEXT NOT NULL,  -- question ids, comma-separated
    position     INTEGER NOT NULL,
    awaiting     TEXT NOT NULL CHECK (awaiting IN ('choice', 'text', 'rating', 'none')),
    state        TEXT NOT NULL CHECK (state IN ('active', 'done', 'stopped', 'expired')),
    round_id     TEXT,
    suggestion   TEXT,
    score        REAL,
    answered     INTEGER NOT NULL DEFAULT 0,
    recalled     INTEGER NOT NULL DEFAULT 0,
    started_at   REAL NOT NULL,
    touched_at   REAL NOT NULL
) WITHOUT ROWID;
-- At most one active session per player.
CREATE UNIQUE INDEX practice_sessions_active ON practice_sessions (player_id)
    WHERE state = 'active';
CREATE INDEX practice_sessions_idle ON practice_sessions (touched_at) WHERE state = 'active';

-- Opt-in reminders: a private message at a local time when cards are due.
CREATE TABLE practice_reminders (
    player_id  INTEGER PRIMARY KEY REFERENCES players(id),
    platform   TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    time       TEXT NOT NULL,  -- HH:MM, local
    timezone   TEXT NOT NULL,  -- IANA name
    last_sent  TEXT            -- local date of the last reminder sent
);
