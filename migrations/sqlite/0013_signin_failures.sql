-- Failed sign-ins in a row per account, read by every node: the back-off of the next
-- attempt is computed from them. A success or an operator's lift deletes the row.
CREATE TABLE signin_failures (
    account_id     TEXT PRIMARY KEY REFERENCES accounts(id),
    failures       INTEGER NOT NULL,
    last_failed_at BIGINT NOT NULL
);
