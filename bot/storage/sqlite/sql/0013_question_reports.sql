-- Stackprep schema, version 13: reports of wrong, unclear or outdated questions (issue 16).
--
-- One row per report: the question (from the round the person was shown, never from the
-- button), where it was shown (platform and chat key), who reported it, why (one of five
-- reasons) and an optional note. An operator resolves a question's open reports with a note
-- (`stackprep questions resolve`). One open report per person per question: the partial
-- unique index refuses a second one while the first is open (and serves the count of a
-- question's open reports that holds it out of daily picks and games).
CREATE TABLE question_reports (
    id           INTEGER PRIMARY KEY,
    question_id  TEXT NOT NULL,
    platform     TEXT NOT NULL,
    place        TEXT NOT NULL,  -- the chat key where the question was shown
    player_id    INTEGER NOT NULL REFERENCES players(id),
    reason       TEXT NOT NULL
                 CHECK (reason IN ('wrong', 'unclear', 'outdated', 'typo', 'other')),
    note         TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolution   TEXT NOT NULL DEFAULT '',
    resolved_at  REAL
);
CREATE UNIQUE INDEX question_reports_one_open
    ON question_reports (question_id, player_id) WHERE state = 'open';
