-- Stackprep schema, version 7: only answers that scored are indexed by player and question.
--
-- The index serves one query, when the player last scored on a question (the repeat window
-- of self-served questions), which asks for points > 0 only; every other answer wrote a
-- random page of it for nothing.

DROP INDEX answers_by_player_question;
CREATE INDEX answers_scored_by_player_question ON answers (player_id, question_id, answered_at)
    WHERE points > 0;
