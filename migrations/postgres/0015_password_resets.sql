-- A password-reset link: only its token's SHA-256 is kept. It works once (used_at) and
-- until expires_at.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_resets_account ON password_resets (account_id);
