-- Stackprep schema, version 10: interview-date plans (`/plan`, issue 20).
--
-- One plan per player: the interview's local date and the timezone its days are counted in,
-- the topics it covers (none: every topic) and the private chat it was set in. Weak-topic
-- drills and the plan's countdown read practice_cards and practice_reviews as they are: no
-- new index, so no card update writes more than before.
CREATE TABLE practice_plans (
    player_id     INTEGER PRIMARY KEY REFERENCES players(id),
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    target        TEXT NOT NULL,  -- the interview's local date, ISO
    timezone      TEXT NOT NULL,  -- IANA name
    topics        TEXT NOT NULL,  -- topic slugs, comma-separated; '' = every topic
    created_at    REAL NOT NULL
);
