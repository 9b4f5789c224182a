-- The answers' group commit in two round trips (issue 14): a batch's contexts are read with
-- answer_contexts(), scored in Python, and written with record_answers(), one statement that
-- is its own transaction (its COMMIT travels with it). record_answers() takes the players'
-- locks first, then reads the contexts again under them and writes only the answers whose
-- context is still the one they were scored on; bot/storage/postgres/answers.py scores the
-- others again, holding their locks.

-- Each attempt's context, by position (`k`, from 1): the points scored today, when the
-- question last scored, the player's daily streak and its day, and whether the player has
-- answered the round already (NULL: not yet). A position whose player does not exist gives
-- no row. Every lookup is a probe of a primary key or of answers_scored_by_player_question,
-- whatever the tables' sizes or statistics: LIMIT keeps the planner from turning a subquery
-- into a join or a hashed scan of a whole table; and one generic plan serves every batch
-- (never planned anew per call).
CREATE FUNCTION answer_contexts(
    player_ids bigint[], question_ids text[], days text[], round_ids text[]
) RETURNS TABLE (k bigint, today bigint, last_scored double precision, streak integer,
                 last_daily text, answered boolean)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT r.k,
        (SELECT d.points FROM player_days d WHERE d.player_id = r.p AND d.day = r.day),
        (SELECT a.answered_at FROM answers a
          WHERE a.player_id = r.p AND a.question_id = r.q AND a.points > 0
          ORDER BY a.answered_at DESC LIMIT 1),
        pl.daily_streak, pl.last_daily_day::text,
        (SELECT true FROM answers a WHERE a.round_id = r.rid AND a.player_id = r.p LIMIT 1)
    FROM unnest(player_ids, question_ids, days, round_ids)
        WITH ORDINALITY AS r(p, q, day, rid, k)
    CROSS JOIN LATERAL (
        SELECT daily_streak, last_daily_day FROM players WHERE id = r.p LIMIT 1) AS pl;
END $$;

-- Write a batch of answers, each player at most once, in the caller's transaction or (called
-- on its own) in the statement's own: one array per column of `answers` (ANSWER_COLUMNS'
-- order), then the context each was scored on (seen_*: answer_contexts' columns).
--
-- 1. Every player's transaction lock, (5353545, the player id folded into 32 bits: see
--    PLAYER_LOCKS and lock_key in Python), in ascending order (no deadlock). Another process
--    writing the same player waits until this transaction commits, so neither passes a
--    per-player cap (points a day, a question's points once a week, the streak).
-- 2. Then, in a statement of its own (a VOLATILE function's next statement takes a new
--    snapshot, which sees every answer committed while it waited for the locks), each
--    context read again; an answer is written only if its context is the one it was scored
--    on (and the round not answered yet: the primary key). The answers' trigger (0001) keeps
--    the boards, the totals, topic stats, the day's points and practice's feed in that same
--    statement.
--
-- Returns the positions (from 1) written now. One that is not was either answered already
-- (the round by that player) or scored on a context that has changed since it was read.
CREATE FUNCTION record_answers(
    round_ids text[], player_ids bigint[], question_ids text[], topics text[], kinds text[],
    labels text[], corrects integer[], points integer[], answered_ats double precision[],
    seconds double precision[], scope1s text[], scope2s text[], weeks text[], days text[],
    daily_streaks integer[], daily_days text[],
    seen_today bigint[], seen_scored double precision[], seen_streak integer[],
    seen_daily text[]
) RETURNS TABLE (k bigint)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    key integer;
BEGIN
    FOREACH key IN ARRAY ARRAY(
        SELECT DISTINCT ((p + 2147483648) % 4294967296 - 2147483648)::integer
        FROM unnest(player_ids) AS p ORDER BY 1)
    LOOP
        PERFORM pg_advisory_xact_lock(5353545, key);
    END LOOP;

    RETURN QUERY
    WITH ctx AS (
        SELECT * FROM answer_contexts(player_ids, question_ids, days, round_ids)
    ), fit AS (
        SELECT n.k FROM ctx n
        WHERE n.today IS NOT DISTINCT FROM seen_today[n.k]
          AND n.last_scored IS NOT DISTINCT FROM seen_scored[n.k]
          AND n.streak IS NOT DISTINCT FROM seen_streak[n.k]
          AND n.last_daily IS NOT DISTINCT FROM seen_daily[n.k]
    ), written AS (
        INSERT INTO answers (round_id, player_id, question_id, topic, kind, label, correct,
            points, answered_at, seconds, scope1, scope2, week, day, daily_streak, daily_day)
        SELECT v.round_id, v.player_id, v.question_id, v.topic, v.kind, v.label, v.correct,
            v.points, v.answered_at, v.seconds, v.scope1, v.scope2, v.week, v.day,
            v.daily_streak, v.daily_day
        FROM unnest(round_ids, player_ids, question_ids, topics, kinds, labels, corrects,
                points, answered_ats, seconds, scope1s, scope2s, weeks, days, daily_streaks,
                daily_days)
            WITH ORDINALITY AS v(round_id, player_id, question_id, topic, kind, label,
                correct, points, answered_at, seconds, scope1, scope2, week, day,
                daily_streak, daily_day, k)
        WHERE v.k IN (SELECT fit.k FROM fit)
        ON CONFLICT (round_id, player_id) DO NOTHING
        RETURNING answers.round_id, answers.player_id
    )
    SELECT f.k FROM fit f
    WHERE (round_ids[f.k], player_ids[f.k]) IN (SELECT w.round_id, w.player_id FROM written w)
    ORDER BY f.k;
END $$;
