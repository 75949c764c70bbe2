-- The per-day roll-up of reports (issue 16): for each space, local day and scope (the space,
-- a resource `r:<id>`, a kind `k:<kind>`), the day's figures in parts (`DayPart`, encoded).
-- A cache made from the facts: it is never cited, has no ledger entries and can be dropped
-- and rebuilt. A read uses a stored day only when the space's catalog still has the
-- fingerprint it was built with and no dirty mark touches the day; every other day is read
-- raw, so a stale row is never used.
CREATE TABLE rollup_spaces (
    space_id    TEXT PRIMARY KEY REFERENCES spaces (id),
    -- SHA-256 of what open time depends on (zone, units, opening rules, closures) and of the
    -- roll-up's layout; a change starts a new generation.
    fingerprint TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    -- Local days [from_day, until_day) (days from the common era) have been built.
    from_day    INTEGER NOT NULL,
    until_day   INTEGER NOT NULL,
    -- The database clock when the row was made (ms).
    created_at  INTEGER NOT NULL,
    -- The `now` of the last build: a report as of an earlier instant reads raw.
    built_at    INTEGER NOT NULL,
    -- Build steps written: a step writes only if no other step wrote since it read the state
    -- (two nodes building one space at once: the later one's reads may be older).
    steps       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE rollup_days (
    space_id   TEXT NOT NULL,
    day        INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    generation INTEGER NOT NULL,
    part       BLOB NOT NULL,
    PRIMARY KEY (space_id, day, scope)
) WITHOUT ROWID;

-- UTC ranges [from_ms, until_ms) whose facts changed after they may have been built. Written
-- by the triggers below in the writer's own transaction, so that no write path can forget
-- one; deleted by the builder once it has rebuilt every stored day a mark touches from a
-- snapshot that saw the mark.
CREATE TABLE rollup_dirty (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    space_id TEXT NOT NULL,
    from_ms  INTEGER NOT NULL,
    until_ms INTEGER NOT NULL
);
CREATE INDEX rollup_dirty_space ON rollup_dirty (space_id, from_ms);

-- A write marks its range when the range starts more than two days before the database's
-- clock (the builder never builds a day that ends later than that) and the space has a
-- roll-up. A new booking lies ahead and a check-in, check-out or no-show touches the last
-- hours: they mark nothing and cost one comparison.
CREATE TRIGGER rollup_bookings_insert AFTER INSERT ON bookings
WHEN NEW.starts_at < CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) - 172800000
 AND EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = NEW.space_id)
BEGIN
    INSERT INTO rollup_dirty (space_id, from_ms, until_ms) VALUES (NEW.space_id, NEW.starts_at, NEW.ends_at);
END;

-- A booking's change reaches its sessions' days too (their booked time, organisation).
CREATE TRIGGER rollup_bookings_update
AFTER UPDATE OF unit_id, space_id, account_id, organisation_id, kind, status, starts_at, ends_at, cancelled_at ON bookings
WHEN min(OLD.starts_at, NEW.starts_at) < CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) - 172800000
 AND EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id IN (OLD.space_id, NEW.space_id))
BEGIN
    INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
    SELECT sp, min(OLD.starts_at, NEW.starts_at),
           max(OLD.ends_at, NEW.ends_at,
               COALESCE((SELECT MAX(COALESCE(ended_at, 9000000000000000)) FROM sessions WHERE booking_id = NEW.id), 0))
    FROM (SELECT NEW.space_id AS sp UNION SELECT OLD.space_id);
END;

-- A session counts from its start (and on its booking's start day: checked in) to its end;
-- an open one to no end.
CREATE TRIGGER rollup_sessions_insert AFTER INSERT ON sessions
WHEN min(NEW.started_at, COALESCE((SELECT starts_at FROM bookings WHERE id = NEW.booking_id), NEW.started_at))
     < CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) - 172800000
BEGIN
    INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
    SELECT r.space_id,
           min(NEW.started_at, COALESCE((SELECT starts_at FROM bookings WHERE id = NEW.booking_id), NEW.started_at)),
           COALESCE(NEW.ended_at, 9000000000000000)
    FROM units u JOIN resources r ON r.id = u.resource_id
    WHERE u.id = NEW.unit_id AND EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = r.space_id);
END;

CREATE TRIGGER rollup_sessions_update
AFTER UPDATE OF booking_id, unit_id, account_id, started_at, ended_at, opened_by ON sessions
WHEN min(OLD.started_at, NEW.started_at,
         COALESCE((SELECT MIN(starts_at) FROM bookings WHERE id IN (OLD.booking_id, NEW.booking_id)), NEW.started_at))
     < CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) - 172800000
BEGIN
    INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
    SELECT DISTINCT r.space_id,
           min(OLD.started_at, NEW.started_at,
               COALESCE((SELECT MIN(starts_at) FROM bookings WHERE id IN (OLD.booking_id, NEW.booking_id)), NEW.started_at)),
           max(COALESCE(OLD.ended_at, 0), COALESCE(NEW.ended_at, 9000000000000000))
    FROM units u JOIN resources r ON r.id = u.resource_id
    WHERE u.id IN (OLD.unit_id, NEW.unit_id) AND EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = r.space_id);
END;
