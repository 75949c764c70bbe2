-- Availability reads every live booking of one resource that touches a window. To bound
-- that index range on both sides, each resource records the longest blocked interval any
-- of its bookings ever had (kept by triggers, so no writer can forget it); a booking that
-- touches [from, to) then has blocked_from in [from - max_blocked_ms, to).
ALTER TABLE resources ADD COLUMN max_blocked_ms INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER bookings_max_blocked_insert
AFTER INSERT ON bookings
BEGIN
    UPDATE resources SET max_blocked_ms = NEW.blocked_until - NEW.blocked_from
    WHERE id = NEW.resource_id AND max_blocked_ms < NEW.blocked_until - NEW.blocked_from;
END;

CREATE TRIGGER bookings_max_blocked_update
AFTER UPDATE OF blocked_from, blocked_until ON bookings
BEGIN
    UPDATE resources SET max_blocked_ms = NEW.blocked_until - NEW.blocked_from
    WHERE id = NEW.resource_id AND max_blocked_ms < NEW.blocked_until - NEW.blocked_from;
END;

-- Covering: the availability query reads only these columns.
CREATE INDEX bookings_resource_from ON bookings (resource_id, blocked_from, blocked_until, status, unit_id);
