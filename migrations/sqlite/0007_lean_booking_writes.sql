-- Fewer index entries per booking insert; every query keeps an index.
--
-- bookings_status_start (status, starts_at) took an entry for every booking, yet the jobs
-- read the partial indexes of 0004 and the only other reader of a status list is
-- verify-ledger's scan of released bookings: a partial index of those is enough, and a new
-- booking (pending or confirmed) is not in it.
DROP INDEX bookings_status_start;
CREATE INDEX bookings_released ON bookings (id) WHERE status IN ('cancelled', 'no_show');

-- Single bookings have no series: only the bookings of a series need the series index
-- (SQLite uses a `series_id IS NOT NULL` index for `series_id = ?`).
DROP INDEX bookings_series;
CREATE INDEX bookings_series ON bookings (series_id) WHERE series_id IS NOT NULL;
