-- Stackprep schema, version 11: timed mock interviews (`/mock`, issue 20).
--
-- A session is a practice session or a mock interview. A mock has a fixed deadline (UNIX
-- seconds): answers after it are not counted and the session ends with its report, at the
-- next answer or from the timeout job, which finds overdue mocks by the partial index. `missed`
-- keeps the key points the mock's open answers missed (JSON [[topic, point], ...]) for the
-- report. A plan remembers the target date its mock offer was sent for (one offer per date).
ALTER TABLE practice_sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'practice'
    CHECK (kind IN ('practice', 'mock'));
ALTER TABLE practice_sessions ADD COLUMN deadline REAL;
ALTER TABLE practice_sessions ADD COLUMN missed TEXT NOT NULL DEFAULT '[]';
CREATE INDEX practice_sessions_deadline ON practice_sessions (deadline)
    WHERE state = 'active' AND deadline IS NOT NULL;
ALTER TABLE practice_plans ADD COLUMN mock_offered TEXT;  -- the target date it was sent for
