-- A maker's calendar subscription: its URL's token is derived from the account and
-- `generation` (when it was last renewed), so only the generation is kept. Revoking deletes
-- the row, and the old URL stops working.
CREATE TABLE calendar_feeds (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    generation BIGINT NOT NULL
);
