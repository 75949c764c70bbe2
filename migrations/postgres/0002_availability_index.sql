-- Availability reads every live booking of one resource that touches a window. To bound
-- that index range on both sides, each resource records the longest blocked interval any
-- of its bookings ever had (kept by a trigger, so no writer can forget it); a booking that
-- touches [from, to) then has blocked_from in [from - max_blocked_ms, to).
ALTER TABLE resources ADD COLUMN max_blocked_ms BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bookings_track_max_blocked() RETURNS trigger AS $$
BEGIN
    UPDATE resources SET max_blocked_ms = NEW.blocked_until - NEW.blocked_from
    WHERE id = NEW.resource_id AND max_blocked_ms < NEW.blocked_until - NEW.blocked_from;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER bookings_max_blocked
AFTER INSERT OR UPDATE OF blocked_from, blocked_until ON bookings
FOR EACH ROW EXECUTE FUNCTION bookings_track_max_blocked();

-- Covering: the availability query reads only these columns.
CREATE INDEX bookings_resource_from ON bookings (resource_id, blocked_from, blocked_until, status, unit_id);
