-- Stackprep schema, version 2: the daily question. Times are UNIX seconds (REAL, UTC).

-- One subscription per place. Turning it off (or the place disappearing) keeps the row with
-- active = 0 and the reason, so `stackprep daily list` can show why it stopped.
CREATE TABLE daily_subscriptions (
    id               INTEGER PRIMARY KEY,
    platform         TEXT NOT NULL,
    chat_id          TEXT NOT NULL,
    community_id     TEXT,
    local_time       TEXT NOT NULL CHECK (local_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    timezone         TEXT NOT NULL,
    topics           TEXT NOT NULL DEFAULT '',     -- comma-separated topic slugs; '' = all
    difficulty       INTEGER CHECK (difficulty IN (1, 2, 3)),
    window_seconds   INTEGER NOT NULL CHECK (window_seconds > 0),
    recap            INTEGER NOT NULL DEFAULT 1,
    active           INTEGER NOT NULL DEFAULT 1,
    disabled_reason  TEXT,
    since            REAL NOT NULL,                -- the schedule counts from here
    updated_at       REAL NOT NULL,
    UNIQUE (platform, chat_id)
);
CREATE INDEX daily_subscriptions_active ON daily_subscriptions (active);

-- A daily run: (subscription, local date) is claimed once, before anything is posted.
CREATE TABLE daily_claims (
    id               INTEGER PRIMARY KEY,
    subscription_id  INTEGER NOT NULL REFERENCES daily_subscriptions(id),
    local_date       TEXT NOT NULL,
    question_id      TEXT NOT NULL,
    fire_at          REAL NOT NULL,
    closes_at        REAL NOT NULL,
    round_id         TEXT REFERENCES rounds(id),
    claimed_at       REAL NOT NULL,
    UNIQUE (subscription_id, local_date)
);
CREATE INDEX daily_claims_closes ON daily_claims (closes_at);

-- One delivery per (run, kind): the question, its reveal, the weekly recap. A sender takes
-- it over atomically (state -> 'sending') before posting, so nothing is posted twice.
CREATE TABLE daily_deliveries (
    claim_id     INTEGER NOT NULL REFERENCES daily_claims(id),
    kind         TEXT NOT NULL CHECK (kind IN ('question', 'reveal', 'recap')),
    chat_key     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN
                     ('sending', 'delivered', 'failed', 'gone', 'uncertain', 'skipped')),
    attempts     INTEGER NOT NULL DEFAULT 1,
    message_ref  TEXT,
    error        TEXT,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (claim_id, kind)
) WITHOUT ROWID;
CREATE INDEX daily_deliveries_state ON daily_deliveries (state);
