-- Stackprep schema, version 6: a card keeps its own review counts.
--
-- Progress per topic counted a player's reviews through an index on practice_reviews
-- (player_id, topic), so every card update also wrote a random page of that index (1.2 of its
-- 2.7 WAL frames, a third of its time). The card row, which every update writes anyway, now
-- counts its reviews and recalls; practice_reviews stays the history, without the index.

ALTER TABLE practice_cards ADD COLUMN reviews INTEGER NOT NULL DEFAULT 0;
ALTER TABLE practice_cards ADD COLUMN recalled INTEGER NOT NULL DEFAULT 0;

UPDATE practice_cards SET
    reviews = (
        SELECT count(*) FROM practice_reviews r
        WHERE r.player_id = practice_cards.player_id
          AND r.question_id = practice_cards.question_id
    ),
    recalled = (
        SELECT count(*) FROM practice_reviews r
        WHERE r.player_id = practice_cards.player_id
          AND r.question_id = practice_cards.question_id AND r.rating > 1
    );

DROP INDEX practice_reviews_by_player;
