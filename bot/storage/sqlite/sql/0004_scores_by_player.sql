-- Stackprep schema, version 4: cheaper answers for the same boards.
--
-- An answer updates four leaderboard rows (global and community; all time and this week), all
-- of one player. Keyed (scope, period, player_id) they sat on four different pages, each
-- written to the WAL at every commit; keyed by player first they share one. And an answer
-- that changes neither points nor correct (a wrong one) now only counts itself, leaving the
-- board index (ordered by points) alone. Reads still go through scores_board.

DROP TRIGGER answers_maintain;

CREATE TABLE scores_by_player (
    player_id  INTEGER NOT NULL REFERENCES players(id),
    scope      TEXT NOT NULL,
    period     TEXT NOT NULL,
    points     INTEGER NOT NULL DEFAULT 0,
    correct    INTEGER NOT NULL DEFAULT 0,
    answered   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (player_id, scope, period)
) WITHOUT ROWID;
INSERT INTO scores_by_player (player_id, scope, period, points, correct, answered)
    SELECT player_id, scope, period, points, correct, answered FROM scores;
DROP TABLE scores;
ALTER TABLE scores_by_player RENAME TO scores;
CREATE INDEX scores_board ON scores (scope, period, points DESC, correct DESC, player_id);

-- As in version 1, everything an answer changes is maintained in the answer's own statement.
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
    SELECT NEW.player_id, NEW.day, NEW.points WHERE NEW.kind = 'ask' AND NEW.points > 0
    ON CONFLICT (player_id, day) DO UPDATE SET points = points + excluded.points;
END;
