-- The ledger as a Merkle log (RFC 6962 / RFC 9162), issue 20.
--
-- ledger_tree: every complete subtree of the tree over the ledger's entries in order. Node
-- (level, idx) is the root of leaves [idx * 2^level, (idx + 1) * 2^level), leaf n being
-- entry seq = n + 1; it is written, in the same transaction as the entry that completes it,
-- once all its leaves exist. About two rows per entry; a root or a proof of any size reads
-- O(log n) of them. The tree of a ledger that predates this table is built at start.
CREATE TABLE ledger_tree (
    level SMALLINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- The keys that sign checkpoints: one current per name (origin); a rotated key is retired,
-- never removed, so that old checkpoints stay verifiable. skey is the signer key when it was
-- generated here (NULL for a key given in the configuration).
CREATE TABLE log_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    vkey       TEXT NOT NULL,
    skey       TEXT,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE UNIQUE INDEX log_keys_current ON log_keys (name) WHERE retired_at IS NULL;

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note): hourly, whenever a pack is
-- made, and when a reviewer records a head. One per (size, key).
CREATE TABLE checkpoints (
    id        TEXT PRIMARY KEY,
    size      BIGINT NOT NULL,
    root      TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    key_id    TEXT NOT NULL REFERENCES log_keys(id),
    note      TEXT NOT NULL
);
CREATE UNIQUE INDEX checkpoints_size_key ON checkpoints (size, key_id);

-- A head a reviewer records is now a signed checkpoint: the district keeps the note.
ALTER TABLE recorded_heads ADD COLUMN note TEXT;
