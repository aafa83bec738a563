-- How far a transcription or free-text reply may be from another and
-- still agree with it: the highest character error rate (edit distance
-- over the reference's length, after folding case and spacing) at which
-- settling, gold, review, audits and the quality report count it as the
-- same text. Existing projects get 0.05, the share of a text settling
-- allowed to differ before.
ALTER TABLE projects ADD COLUMN max_text_error REAL NOT NULL DEFAULT 0.05;
