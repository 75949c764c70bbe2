-- Subsidy schemes an admin loaded (the shipped ones live in the binary). A scheme is named by
-- the SHA-256 of its file; a changed file is another scheme, so nothing here is updated.
CREATE TABLE schemes (
    sha256          TEXT PRIMARY KEY,
    id              TEXT NOT NULL,
    version         TEXT NOT NULL,
    body            TEXT NOT NULL,
    loaded_at       BIGINT NOT NULL,
    loaded_by       TEXT REFERENCES accounts (id)
);
CREATE INDEX schemes_id ON schemes (id, loaded_at);
