-- Stackprep schema, version 14: a community's own questions and its members' proposals
-- (issue 16).
--
-- A community (scope `discord:<guild>`, `telegram:<group>`, `console:console`) keeps topics
-- of its own, each imported whole from a TOML file (importing it again replaces it) or grown
-- by approved proposals. A question is stored as its fields in the bank's TOML shape, as JSON,
-- under its local id; inside the bot its id is `<scope>/<local id>`. Local ids are unique in a
-- community (the primary key), whatever the topic. Everything is loaded when the bot starts.
CREATE TABLE community_topics (
    scope       TEXT NOT NULL,
    slug        TEXT NOT NULL,
    title       TEXT NOT NULL,
    updated_at  REAL NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, slug)
) WITHOUT ROWID;
CREATE TABLE community_questions (
    scope     TEXT NOT NULL,
    local_id  TEXT NOT NULL,
    topic     TEXT NOT NULL,
    position  INTEGER NOT NULL,
    data      TEXT NOT NULL,  -- JSON: the question's fields as the bank's TOML has them
    PRIMARY KEY (scope, local_id),
    FOREIGN KEY (scope, topic) REFERENCES community_topics (scope, slug) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX community_questions_by_topic ON community_questions (scope, topic, position);
-- A member's proposal: pending until an admin of its community approves or rejects it (once:
-- the decision is an update of a pending row). `question_id` is the local id it was added as.
CREATE TABLE community_proposals (
    id           INTEGER PRIMARY KEY,
    scope        TEXT NOT NULL,
    place        TEXT NOT NULL,  -- the chat key where it was proposed
    platform     TEXT NOT NULL,  -- the proposer's, told privately of the decision
    user_id      TEXT NOT NULL,
    player_id    INTEGER NOT NULL REFERENCES players(id),
    name         TEXT NOT NULL,
    prompt       TEXT NOT NULL,
    options      TEXT NOT NULL,  -- JSON: the four options, A to D
    right_index  INTEGER NOT NULL CHECK (right_index BETWEEN 0 AND 3),
    explanation  TEXT NOT NULL,
    topic        TEXT,
    created_at   REAL NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by   TEXT NOT NULL DEFAULT '',
    decided_at   REAL,
    question_id  TEXT
);
CREATE INDEX community_proposals_waiting
    ON community_proposals (scope, created_at) WHERE state = 'pending';
