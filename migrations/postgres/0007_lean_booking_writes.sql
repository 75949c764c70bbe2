-- Fewer index entries and trigger calls per booking insert; every query keeps an index.
--
-- bookings_status_start (status, starts_at) took an entry for every booking, yet the jobs
-- read the partial indexes of 0004 and the only other reader of a status list is
-- verify-ledger's scan of released bookings: a partial index of those is enough, and a new
-- booking (pending or confirmed) is not in it.
DROP INDEX bookings_status_start;
CREATE INDEX bookings_released ON bookings (id) WHERE status IN ('cancelled', 'no_show');

-- Single bookings have no series: only the bookings of a series need the series index
-- (`series_id = $1` implies the predicate, so the planner still uses it).
DROP INDEX bookings_series;
CREATE INDEX bookings_series ON bookings (series_id) WHERE series_id IS NOT NULL;

-- resources.max_blocked_ms (0002) is kept once per INSERT statement instead of once per row:
-- a grouped insert of 64 bookings ran the PL/pgSQL trigger 64 times. Updates of a booking's
-- blocked interval keep the row trigger (transition tables cannot name columns).
DROP TRIGGER bookings_max_blocked ON bookings;

CREATE FUNCTION bookings_track_max_blocked_inserted() RETURNS trigger AS $$
BEGIN
    UPDATE resources r SET max_blocked_ms = m.longest
    FROM (SELECT resource_id, MAX(blocked_until - blocked_from) AS longest
          FROM inserted GROUP BY resource_id) m
    WHERE r.id = m.resource_id AND r.max_blocked_ms < m.longest;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER bookings_max_blocked_insert
AFTER INSERT ON bookings REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION bookings_track_max_blocked_inserted();

CREATE TRIGGER bookings_max_blocked_update
AFTER UPDATE OF blocked_from, blocked_until ON bookings
FOR EACH ROW EXECUTE FUNCTION bookings_track_max_blocked();
