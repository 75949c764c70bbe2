-- The district's own copies of the ledger head: a reviewer records the head (entry count and
-- hash) while reviewing a space, with who and when, so that a later pack or a later look at
-- the ledger can be checked against it (the entry at `seq` must still have `hash`).
-- Append-only: a recorded head is never changed or removed.
CREATE TABLE recorded_heads (
    id          TEXT PRIMARY KEY,
    space_id    TEXT NOT NULL REFERENCES spaces(id),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES accounts(id),
    recorded_at BIGINT NOT NULL
);
CREATE INDEX recorded_heads_space ON recorded_heads (space_id, recorded_at);
