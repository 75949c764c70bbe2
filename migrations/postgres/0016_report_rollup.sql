-- The per-day roll-up of reports (issue 16); see the SQLite migration of the same number for
-- what each table and trigger is for. Here the triggers are row triggers whose WHEN holds
-- the cheap clock test, so that a booking in the future never calls a function.
CREATE TABLE rollup_spaces (
    space_id    TEXT PRIMARY KEY REFERENCES spaces (id),
    fingerprint TEXT NOT NULL,
    generation  BIGINT NOT NULL,
    from_day    INTEGER NOT NULL,
    until_day   INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    built_at    BIGINT NOT NULL,
    steps       BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE rollup_days (
    space_id   TEXT NOT NULL,
    day        INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    generation BIGINT NOT NULL,
    part       BYTEA NOT NULL,
    PRIMARY KEY (space_id, day, scope)
);

CREATE TABLE rollup_dirty (
    id       BIGSERIAL PRIMARY KEY,
    space_id TEXT NOT NULL,
    from_ms  BIGINT NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE INDEX rollup_dirty_space ON rollup_dirty (space_id, from_ms);

-- The database's clock in ms, as each statement runs (not the transaction's start).
CREATE FUNCTION rollup_clock_ms() RETURNS BIGINT AS $$
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
$$ LANGUAGE sql VOLATILE;

CREATE FUNCTION rollup_mark_booking_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
    SELECT NEW.space_id, NEW.starts_at, NEW.ends_at
    WHERE EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = NEW.space_id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION rollup_mark_booking_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
    SELECT DISTINCT v.sp, LEAST(OLD.starts_at, NEW.starts_at),
           GREATEST(OLD.ends_at, NEW.ends_at,
                    COALESCE((SELECT MAX(COALESCE(ended_at, 9000000000000000)) FROM sessions WHERE booking_id = NEW.id), 0))
    FROM (VALUES (OLD.space_id), (NEW.space_id)) AS v (sp)
    WHERE EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = v.sp);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER rollup_bookings_insert AFTER INSERT ON bookings
FOR EACH ROW WHEN (NEW.starts_at < rollup_clock_ms() - 172800000)
EXECUTE FUNCTION rollup_mark_booking_inserted();

CREATE TRIGGER rollup_bookings_update
AFTER UPDATE OF unit_id, space_id, account_id, organisation_id, kind, status, starts_at, ends_at, cancelled_at ON bookings
FOR EACH ROW WHEN (LEAST(OLD.starts_at, NEW.starts_at) < rollup_clock_ms() - 172800000)
EXECUTE FUNCTION rollup_mark_booking_updated();

CREATE FUNCTION rollup_mark_session_inserted() RETURNS trigger AS $$
DECLARE
    lo BIGINT;
BEGIN
    SELECT LEAST(NEW.started_at, MIN(starts_at)) INTO lo FROM bookings WHERE id = NEW.booking_id;
    lo := COALESCE(lo, NEW.started_at);
    IF lo < rollup_clock_ms() - 172800000 THEN
        INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
        SELECT r.space_id, lo, COALESCE(NEW.ended_at, 9000000000000000)
        FROM units u JOIN resources r ON r.id = u.resource_id
        WHERE u.id = NEW.unit_id AND EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = r.space_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION rollup_mark_session_updated() RETURNS trigger AS $$
DECLARE
    lo BIGINT;
BEGIN
    SELECT LEAST(OLD.started_at, NEW.started_at, MIN(starts_at)) INTO lo
    FROM bookings WHERE id IN (OLD.booking_id, NEW.booking_id);
    lo := COALESCE(lo, LEAST(OLD.started_at, NEW.started_at));
    IF lo < rollup_clock_ms() - 172800000 THEN
        INSERT INTO rollup_dirty (space_id, from_ms, until_ms)
        SELECT DISTINCT r.space_id, lo, GREATEST(COALESCE(OLD.ended_at, 0), COALESCE(NEW.ended_at, 9000000000000000))
        FROM units u JOIN resources r ON r.id = u.resource_id
        WHERE u.id IN (OLD.unit_id, NEW.unit_id) AND EXISTS (SELECT 1 FROM rollup_spaces WHERE space_id = r.space_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER rollup_sessions_insert AFTER INSERT ON sessions
FOR EACH ROW EXECUTE FUNCTION rollup_mark_session_inserted();

CREATE TRIGGER rollup_sessions_update
AFTER UPDATE OF booking_id, unit_id, account_id, started_at, ended_at, opened_by ON sessions
FOR EACH ROW EXECUTE FUNCTION rollup_mark_session_updated();
